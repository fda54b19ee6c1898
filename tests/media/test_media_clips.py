"""Clip lists (CSV or folder) and MER2024-style subtitle CSVs."""
import pytest

from mer_toolbox.fileio.clip_table import read_subtitles
from mer_toolbox.media import read_clip_list


def _write(path, text, bom=False):
    path.write_text(('\ufeff' if bom else '') + text, encoding='utf-8')
    return str(path)


def test_folder_listing_with_subtitles(tmp_path):
    for name in ('b.mp4', 'a.avi', 'notes.txt', '.hidden.mp4'):
        (tmp_path / name).write_bytes(b'x')
    subs = _write(tmp_path / 'subs.csv', 'name,chinese,english\n'
                  'a,你好,hello\nb,,\n', bom=True)
    items = read_clip_list(video_root=str(tmp_path), subtitle_file=subs,
                           subtitle_column='chinese')
    assert [(i.name, i.subtitle) for i in items] == [('a', '你好'), ('b', '')]
    assert items[0].path.endswith('a.avi')


def test_csv_list_paths_and_subtitle_column(tmp_path):
    (tmp_path / 'vid').mkdir()
    (tmp_path / 'vid' / 'c1.mp4').write_bytes(b'x')
    listing = _write(tmp_path / 'list.csv', 'name,label,path,subtitle\n'
                     'c1,happy,,hi\nc2,sad,other/c2.mkv,\n')
    items = read_clip_list(listing, video_root=str(tmp_path / 'vid'))
    assert items[0].path == str(tmp_path / 'vid' / 'c1.mp4')
    assert items[1].path == str(tmp_path / 'vid' / 'other' / 'c2.mkv')
    assert [i.subtitle for i in items] == ['hi', '']


def test_a_clip_without_subtitle_row_gets_none(tmp_path):
    listing = _write(tmp_path / 'list.csv', 'name\nc1\nc2\n')
    subs = _write(tmp_path / 's.csv', 'name,chinese,english\nc1,x,y\n')
    items = read_clip_list(listing, subtitle_file=subs)
    assert [i.subtitle for i in items] == ['y', None]
    # a missing video file still makes an item: the run records the failure
    assert items[0].path == str(tmp_path / 'c1.mp4')


@pytest.mark.parametrize('text,match', [
    ('name\nc1\nc1\n', 'duplicate clip name'),
    ('clip\nc1\n', "no 'name' column"),
    ('name\n\n', 'no clips found'),
    ('name,x\n,1\n', 'empty clip name'),
])
def test_bad_clip_lists(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_clip_list(_write(tmp_path / 'l.csv', text))


def test_bad_subtitle_files(tmp_path):
    with pytest.raises(ValueError, match="no 'english' column"):
        read_subtitles(_write(tmp_path / 's.csv', 'name,text\na,b\n'))
    with pytest.raises(ValueError, match='duplicate'):
        read_subtitles(_write(tmp_path / 's.csv', 'name,english\na,b\na,c\n'))
    with pytest.raises(ValueError, match='list_file'):
        read_clip_list()

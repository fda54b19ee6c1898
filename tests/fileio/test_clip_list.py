"""Clip lists (CSV or folder) of extraction and prior generation, and
MER2024-style subtitle CSVs."""
import pytest

from mer_toolbox.fileio.clip_table import read_subtitles
from mer_toolbox.fileio.clip_list import read_clip_list


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
    assert items[0].video.endswith('a.avi')


def test_csv_list_paths_and_subtitle_column(tmp_path):
    (tmp_path / 'vid').mkdir()
    (tmp_path / 'vid' / 'c1.mp4').write_bytes(b'x')
    listing = _write(tmp_path / 'list.csv', 'name,label,path,subtitle\n'
                     'c1,happy,,hi\nc2,sad,other/c2.mkv,\n')
    items = read_clip_list(listing, video_root=str(tmp_path / 'vid'))
    assert items[0].video == str(tmp_path / 'vid' / 'c1.mp4')
    assert items[1].video == str(tmp_path / 'vid' / 'other' / 'c2.mkv')
    assert [i.subtitle for i in items] == ['hi', '']


def test_a_clip_without_subtitle_row_gets_none(tmp_path):
    listing = _write(tmp_path / 'list.csv', 'name\nc1\nc2\n')
    subs = _write(tmp_path / 's.csv', 'name,chinese,english\nc1,x,y\n')
    items = read_clip_list(listing, subtitle_file=subs, need_video=True)
    assert [i.subtitle for i in items] == ['y', None]
    # a missing video file still makes an item: the run records the failure
    assert items[0].video == str(tmp_path / 'c1.mp4')


def test_videos_only_where_the_list_or_video_root_places_them(tmp_path):
    # prior generation without videos: no path cell, no video_root -> None
    listing = _write(tmp_path / 'list.csv', 'name,path\nc1,\nc2,v/c2.avi\n')
    items = read_clip_list(listing)
    assert [i.video for i in items] == [None, str(tmp_path / 'v' / 'c2.avi')]
    # video_root: the first existing extension, else the first one
    (tmp_path / 'vid').mkdir()
    (tmp_path / 'vid' / 'c1.avi').write_bytes(b'x')
    listing = _write(tmp_path / 'list.csv', 'name\nc1\nc2\n')
    items = read_clip_list(listing, video_root=str(tmp_path / 'vid'),
                           extensions=('.mp4', '.avi'))
    assert [i.video for i in items] == [str(tmp_path / 'vid' / 'c1.avi'),
                                        str(tmp_path / 'vid' / 'c2.mp4')]


def test_name_column_and_list_subtitles_win(tmp_path):
    subs = _write(tmp_path / 's.csv', 'clip,chinese\nc1,x\nc2,y\nc3,z\n')
    listing = _write(tmp_path / 'list.csv', 'clip\nc1\nc2\n')
    items = read_clip_list(listing, subtitle_file=subs,
                           subtitle_column='chinese', name_column='clip')
    assert [(i.name, i.subtitle) for i in items] == [('c1', 'x'), ('c2', 'y')]
    # the list's own cells win; an empty one is the subtitle '', not a gap
    listing = _write(tmp_path / 'own.csv', 'clip,subtitle\nc1,own\nc2,\n')
    items = read_clip_list(listing, subtitle_file=subs,
                           subtitle_column='chinese', name_column='clip')
    assert [i.subtitle for i in items] == ['own', '']


@pytest.mark.parametrize('extensions', ['.mp4', (), ('mp4',)])
def test_bad_extensions(tmp_path, extensions):
    listing = _write(tmp_path / 'list.csv', 'name\nc1\n')
    with pytest.raises(ValueError, match="extensions must be file extensions "
                       "like '.mp4'"):
        read_clip_list(listing, video_root=str(tmp_path),
                       extensions=extensions)


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

"""The one reader behind label files, clip lists and subtitle tables."""
import pytest

from mer_toolbox.fileio.clip_list import read_clip_list
from mer_toolbox.fileio.clip_table import read_clip_rows, read_csv_table, read_subtitles
from mer_toolbox.fileio.label_file import keep_listed, read_label_csv


def write(path, text, encoding='utf-8'):
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_rows_keep_lines_and_accept_a_bom(tmp_path):
    path = write(tmp_path / 'l.csv', '\ufeffname , x\nb,1\na,2\n')
    columns, rows = read_clip_rows(path)
    assert columns == ['name', 'x']  # header cells stripped, BOM gone
    assert [(r.line, r.name, r.cells['x']) for r in rows] == [
        (2, 'b', '1'), (3, 'a', '2')]


@pytest.mark.parametrize('text,error,match', [
    ('', ValueError, "empty file, expected a header with a 'name' column"),
    ('clip\na\n', ValueError, r"no 'name' column \(columns: \['clip'\]\)"),
    ('name,x,x\na,1,2\n', ValueError, r"duplicate column names \['x'\]"),
    ('name\na\nb\na\n', ValueError,
     r"l.csv:4: duplicate clip name 'a' \(first on line 2\)"),
    ('name\nsub/a\n', ValueError, 'l.csv:2: clip name .* path separator'),
])
def test_bad_tables_name_file_line_and_expectation(tmp_path, text, error,
                                                   match):
    with pytest.raises(error, match=match):
        read_clip_rows(write(tmp_path / 'l.csv', text))


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="clip list '.*nope.csv' does "
                       'not exist'):
        read_csv_table(str(tmp_path / 'nope.csv'), what='clip list')
    latin = write(tmp_path / 'l.csv', 'name\ncafé\n', encoding='latin-1')
    with pytest.raises(ValueError, match='not UTF-8 text .*0xe9'):
        read_csv_table(latin)


def test_every_clip_reader_goes_through_it(tmp_path):
    # the same duplicate is refused with the same message by all readers
    path = write(tmp_path / 'l.csv', 'name,discrete\na,happy\na,sad\n')
    for read in (lambda: read_label_csv(path, ('happy', 'sad')),
                 lambda: read_clip_list(path),
                 lambda: read_clip_list(path, need_video=True),
                 lambda: read_subtitles(path, column='discrete')):
        with pytest.raises(ValueError, match="l.csv:3: duplicate clip name "
                           r"'a' \(first on line 2\)"):
            read()


def test_subtitles_are_stripped_and_fill_the_clip_list(tmp_path):
    subs = write(tmp_path / 's.csv', 'name,english\na, hello \nb,\n')
    assert read_subtitles(subs) == {'a': 'hello', 'b': ''}
    listing = write(tmp_path / 'l.csv', 'name\na\nb\nc\n')
    clips = read_clip_list(listing, subtitle_file=subs)
    assert [c.subtitle for c in clips] == ['hello', '', None]


def test_keep_listed_keeps_source_order_and_refuses_strangers(tmp_path):
    rows = [('a', 0), ('b', 1), ('c', 0)]
    subset = write(tmp_path / 's.csv', 'name\nc\na\n')
    assert keep_listed(rows, subset, 'labels.csv') == [('a', 0), ('c', 0)]
    with pytest.raises(ValueError, match=r"1 clip\(s\) are not in labels.csv"
                       r" \(e.g. \['z'\]\)"):
        keep_listed(rows, write(tmp_path / 't.csv', 'name\nz\n'),
                    'labels.csv')

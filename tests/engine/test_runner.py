"""What MERRunner keeps off the console."""
import sys

from mer_toolbox.engine.runner import _StdoutWithout


def test_printed_loader_line_is_dropped_and_nothing_else(capsys):
    out = _StdoutWithout(sys.stdout, 'Loads checkpoint by ')
    print('before', file=out)
    print('Loads checkpoint by mer_safe_loader backend from path: x.pth',
          file=out)
    print('after', file=out)
    assert capsys.readouterr().out == 'before\nafter\n'

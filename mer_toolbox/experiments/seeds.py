"""Mean ± std over runs of one recipe that differ only in their seed."""
import os.path as osp
from typing import Sequence

from ..visualization import results


def summarize_seed_runs(work_dirs: Sequence[str], out_dir: str,
                        metric: str = 'emotion/waf') -> str:
    """Write ``seeds_summary.{md,csv}`` into ``out_dir``; return the Markdown.

    One row per recipe: mean and sample std (``ddof=1``) of the best
    validation score and of the test metrics over the runs (what
    ``tools/analysis/collect_results.py --group-by-seed`` prints).
    """
    runs = [results.summarize_run(d, metric) for d in work_dirs]
    table = results.grouped_table(runs, results.group_key_by_seed(runs))
    markdown = results.mean_std_markdown(table)
    with open(osp.join(out_dir, 'seeds_summary.md'), 'w', encoding='utf-8') as f:
        f.write(markdown + '\n')
    table.write_csv(osp.join(out_dir, 'seeds_summary.csv'))
    return markdown

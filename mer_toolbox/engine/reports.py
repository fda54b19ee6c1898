"""Writing a finished evaluation to disk (metrics JSON, submission CSV)."""
import os
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process


def dump_test_reports(runner, predictions_csv: Optional[str] = None) -> None:
    """Write ``<work_dir>/test_metrics.json`` (and a predictions CSV).

    Only rank 0 holds the full report under DDP, so only it writes. An
    existing metrics file is replaced with a warning naming it.

    Args:
        runner: a Runner whose test loop has just run.
        predictions_csv: where to write ``name,discrete,<scores>`` rows.
    """
    if not is_main_process():
        return
    for metric in runner.test_evaluator.metrics:
        if getattr(metric, 'last_report', None) is None:
            continue
        path = osp.join(runner.work_dir, 'test_metrics.json')
        if osp.isfile(path):
            runner.logger.warning(f'replacing the earlier metrics in {path}')
        metric.dump_report_json(path)
        runner.logger.info(f'metrics written to {path}')
        if predictions_csv:
            folder = osp.dirname(osp.abspath(predictions_csv))
            os.makedirs(folder, exist_ok=True)
            metric.dump_predictions_csv(predictions_csv)
            runner.logger.info(f'predictions written to {predictions_csv}')


def test_best_checkpoint(runner) -> Optional[dict]:
    """After training: evaluate the run's result on the test split, print
    the metric table and write the reports. The result is the best
    checkpoint for a config with ``save_best``, else the final weights (the
    default recipe).

    Returns:
        The test metrics, or ``None`` when the config has no test split.
    """
    if runner._test_loop is None:
        return None
    best = runner.message_hub.get_info('best_ckpt')
    if best and osp.isfile(best):
        runner.logger.info(f'testing the best checkpoint {best}')
        runner.load_checkpoint(best, map_location='cpu', strict=True)
    else:
        runner.logger.info('testing the final model (the config keeps no '
                           'best checkpoint)')
    metrics = runner.test_loop.run()
    dump_test_reports(runner)
    return metrics

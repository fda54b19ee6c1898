"""K-fold cross-validation with fold ensembles (the MER challenge protocol).

The labelled train split of a config is cut into ``K`` stratified folds.
Member ``(fold i, seed s)`` is an ordinary training run on the other folds
whose validation split is fold ``i`` (so its best checkpoint is picked on
data it never trained on). Each member then scores the config's own val and
test splits; the ensemble's probabilities are the mean of the members'.

Work dir layout::

    W/cv_plan.json                     folds, split seed, grouping, config hash
    W/folds/fold_<i>_{train,held_out}.csv  clip lists (``subset_file``)
    W/configs/<member>.py              each member's full config
    W/<member>/                        its training run (tools/train.py)
    W/<member>/scores/<split>.json     its probabilities on val / test
    W/predictions_<split>.csv          the ensemble (MER submission format)
    W/cv_metrics.json, W/cv_table.{md,csv}

Members are ``fold_<i>`` or, with several training seeds,
``fold_<i>_seed_<s>``; ``--folds 1`` trains on the whole train split and
validates on the config's val split (multi-seed runs).

``include_val`` (``--include-val``) pools the config's val split into the
labelled clips first (``W/folds/labelled.csv``): with ``K`` folds every
labelled clip is held out once and the ensemble covers all of them; with
``--folds 1`` each member trains on train + val without validation (a refit
on every labelled clip, for recipes whose result is the final epoch). The
val split is then no longer scored (the members trained on it).
"""
import copy
import hashlib
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config, ConfigDict

from ..fileio.label_file import concat_label_csvs, write_label_csv
from ..evaluation.functional import emotion_metrics, write_predictions_csv
from ..registry import DATASETS
from ..fileio.atomic import replaced_atomically
from ..visualization.tables import Table
from .folds import (PLAN_FILE, check_or_write_plan, make_folds,
                    read_group_column)

#: Dataset wrapper keys followed down to the labelled train split.
WRAPPER_KEYS = ('labelled', 'base', 'dataset')
SCORED_SPLITS = ('val', 'test')


@dataclass(frozen=True)
class Member:
    """One run of the cross-validation: fold ``fold`` held out, ``seed``."""

    fold: int
    seed: int
    name: str


def labelled_train_dataset(cfg: Config) -> ConfigDict:
    """The (mutable) config dict of the train split that folds subdivide.

    Follows ``labelled=`` (:class:`SemiSupervisedDataset`), ``base=``
    (extra-data wrapper) and ``dataset=`` down to a dataset reading a label
    CSV (:class:`MERFeatureDataset` or a subclass).

    Raises:
        TypeError: the train dataset is of another kind.
    """
    from ..datasets import MERFeatureDataset
    dataset = cfg.train_dataloader.dataset
    while True:
        # a dict under the key: MERFeatureDataset's own `labelled=True` is not
        key = next((k for k in WRAPPER_KEYS
                    if isinstance(dataset.get(k), dict)), None)
        if key is None:
            break
        dataset = dataset[key]
    cls = DATASETS.get(dataset.get('type'))
    if cls is None or not issubclass(cls, MERFeatureDataset):
        raise TypeError(
            'cross-validation needs a train dataset that reads a label CSV '
            '(MERFeatureDataset or a subclass, possibly as labelled= of a '
            f'SemiSupervisedDataset); train_dataloader has {dataset.get("type")!r}')
    return dataset


def _add_validation(cfg: Config) -> None:
    """A val loop for a config without one (MER2024 ships no val split):
    the test loader's settings and evaluator, the data set later."""
    cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
    cfg.val_cfg = dict()
    cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
    if cfg.val_evaluator.get('type') == 'EmotionMetric':
        cfg.val_evaluator.print_table = False


def config_digest(cfg: Config) -> str:
    """A hash of the recipe (run-local keys excluded) that pins a work dir."""
    recipe = {k: v for k, v in cfg.to_dict().items()
              if k not in ('work_dir', 'launcher', 'resume', 'load_from',
                           'randomness', 'search_space')}
    text = json.dumps(recipe, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class CrossValidation:
    """The folds, members and ensemble of one cross-validation work dir.

    Args:
        cfg: the recipe (``--cfg-options`` already merged).
        work_dir: the cross-validation work dir ``W``.
        folds: ``K``; 1 means no split (validate on the config's val split).
        seeds: training seeds; ``None`` uses ``randomness.seed`` and leaves
            the seed out of member names.
        split_seed: seed of the fold shuffle.
        group_by: a column of the train label CSV whose groups (speakers)
            must not straddle folds.
        load_from_cv: a finished cross-validation work dir with the same
            folds (stage 1); member ``m`` starts from its member ``m``.
        include_val: pool the config's val split into the labelled clips
            (see the module docstring).
    """

    def __init__(self, cfg: Config, work_dir: str, folds: int,
                 seeds: Optional[Sequence[int]] = None, split_seed: int = 0,
                 group_by: Optional[str] = None,
                 load_from_cv: Optional[str] = None,
                 include_val: bool = False) -> None:
        if folds < 1:
            raise ValueError(f'--folds must be >= 1, got {folds}')
        if include_val and not cfg.get('val_dataloader'):
            raise ValueError('--include-val pools the config\'s val split '
                             'into training, and this config has no '
                             'val_dataloader')
        self.include_val = include_val
        self.cfg = cfg
        self.work_dir = osp.abspath(work_dir)
        self.folds = folds
        self.split_seed = split_seed
        self.group_by = group_by
        self.load_from_cv = load_from_cv and osp.abspath(load_from_cv)
        default_seed = (cfg.get('randomness') or {}).get('seed', 0)
        self.seeds = list(seeds) if seeds else [default_seed]
        self.named_seeds = bool(seeds)
        self.members = [
            Member(i, s, f'fold_{i}' + (f'_seed_{s}' if seeds else ''))
            for i in range(folds) for s in self.seeds]

    # ------------------------------------------------------------ planning
    def prepare(self) -> None:
        """Split the train split, pin the plan, write every member config.

        Raises:
            ValueError: bad ``K`` / grouping, or a work dir holding another
                plan (nothing is overwritten).
        """
        held_out: List[List[str]] = []
        names: List[str] = []
        os.makedirs(osp.join(self.work_dir, 'folds'), exist_ok=True)
        # the pooled list takes its place only once the plan matches (one
        # name per process: member jobs may prepare the same work dir at once)
        pending = f'{self._labelled_file()}.{os.getpid()}.pending'
        try:
            if self.include_val:
                self._pool_labelled(pending)
            if self.folds > 1:
                names, labels, groups, classes = self._train_split(
                    pending if self.include_val else None)
                held_out = [[names[j] for j in idx] for idx in make_folds(
                    labels, self.folds, self.split_seed, groups, classes)]
            plan = dict(folds=self.folds, split_seed=self.split_seed,
                        group_by=self.group_by,
                        config=config_digest(self.cfg),
                        folds_held_out=held_out)
            if self.include_val:  # absent otherwise: older plans stay valid
                plan['include_val'] = True
            check_or_write_plan(self.work_dir, plan)
            if self.include_val:
                os.replace(pending, self._labelled_file())
        finally:
            if osp.exists(pending):
                os.remove(pending)
        if self.load_from_cv:
            self._check_stage_one_folds(held_out)
        os.makedirs(osp.join(self.work_dir, 'configs'), exist_ok=True)
        # a relaunch, or another job on the shared work dir, writes the same
        # files again: atomically, so a starting member never reads half one
        for i, fold in enumerate(held_out):
            keep = set(fold)
            for part, rows in (('held_out', fold),
                               ('train', [n for n in names if n not in keep])):
                with replaced_atomically(self._fold_file(i, part)) as tmp:
                    write_label_csv(tmp, [(n, None) for n in rows])
        for member in self.members:
            with replaced_atomically(self.config_path(member)) as tmp:
                self.member_config(member).dump(tmp)

    def _check_stage_one_folds(self, held_out: List[List[str]]) -> None:
        path = osp.join(self.load_from_cv, PLAN_FILE)
        if not osp.isfile(path):
            raise FileNotFoundError(f'--load-from-cv: {path} does not exist; '
                                    'run tools/cross_validate.py on stage 1 first')
        with open(path, encoding='utf-8') as f:
            if json.load(f)['folds_held_out'] != held_out:
                raise ValueError(f'--load-from-cv: the folds of {path} differ '
                                 'from these (use the same --folds, '
                                 '--split-seed, --group-by and train split)')

    def _pool_labelled(self, dest: str) -> None:
        """Write the train and val label rows, in that order, to ``dest``."""
        sources = []
        for key, dataset_cfg in (
                ('train', labelled_train_dataset(self.cfg)),
                ('val', self.cfg.val_dataloader.dataset)):
            dataset = DATASETS.build(copy.deepcopy(dataset_cfg))
            if getattr(dataset, 'subset_file', None):
                raise ValueError(f'--include-val: the {key} dataset keeps a '
                                 f'subset ({dataset.subset_file}); pool '
                                 'whole label files only')
            sources.append(dataset.ann_file)
        concat_label_csvs(sources, dest)

    def _labelled_file(self) -> str:
        return osp.join(self.work_dir, 'folds', 'labelled.csv')

    def _train_split(self, ann_file: Optional[str] = None):
        dataset_cfg = copy.deepcopy(labelled_train_dataset(self.cfg))
        if ann_file:
            dataset_cfg.ann_file = ann_file
        dataset = DATASETS.build(dataset_cfg)
        names, labels = dataset.clip_names(), dataset.labels()
        groups = None
        if self.group_by:
            table = read_group_column(dataset.ann_file, self.group_by)
            groups = [table[n] for n in names]
        return names, labels, groups, dataset.classes

    def _fold_file(self, fold: int, part: str) -> str:
        return osp.join(self.work_dir, 'folds', f'fold_{fold}_{part}.csv')

    def member_config(self, member: Member) -> Config:
        """The member's full config: its seed, its folds, nothing else new."""
        cfg = copy.deepcopy(self.cfg)
        cfg.pop('search_space', None)
        cfg.setdefault('randomness', {})['seed'] = member.seed
        if self.include_val:
            labelled_train_dataset(cfg).ann_file = self._labelled_file()
            if self.folds == 1:  # a refit on every labelled clip
                from ..engine.stage_checkpoint import keeps_best_checkpoint
                if keeps_best_checkpoint(cfg):
                    raise ValueError(
                        '--folds 1 --include-val trains on every labelled '
                        'clip and leaves nothing to validate on, but the '
                        'config keeps a best-by-validation checkpoint '
                        '(default_hooks.checkpoint.save_best); drop '
                        'save_best or use --folds K >= 2')
                cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
        if self.folds > 1:
            train = labelled_train_dataset(cfg)
            held_out = copy.deepcopy(train)
            train.subset_file = self._fold_file(member.fold, 'train')
            held_out.subset_file = self._fold_file(member.fold, 'held_out')
            if not cfg.get('val_dataloader'):
                _add_validation(cfg)
            cfg.val_dataloader.dataset = held_out
        elif not cfg.get('val_dataloader') and not self.include_val:
            raise ValueError('--folds 1 picks each run\'s best epoch on the '
                             "config's val split, and this config has no "
                             'val_dataloader; use --folds K >= 2')
        if self.load_from_cv:
            # stage 2 on folds: member i starts from stage-1 member i, which
            # never saw fold i either
            cfg.load_from = osp.join(self.load_from_cv, member.name)
        cfg.work_dir = self.member_dir(member)
        return cfg

    def config_path(self, member: Member) -> str:
        return osp.join(self.work_dir, 'configs', f'{member.name}.py')

    def member_dir(self, member: Member) -> str:
        return osp.join(self.work_dir, member.name)

    def select(self, fold: Optional[int] = None,
               seed: Optional[int] = None) -> List[Member]:
        """Members matching ``--only fold=i,seed=s`` (either may be absent)."""
        chosen = [m for m in self.members if (fold is None or m.fold == fold)
                  and (seed is None or m.seed == seed)]
        if not chosen:
            raise ValueError(f'--only fold={fold},seed={seed} names no member '
                             f'of {self.folds} fold(s) x seeds {self.seeds}')
        return chosen

    # ------------------------------------------------------------- scoring
    def score_path(self, member: Member, split: str) -> str:
        return osp.join(self.member_dir(member), 'scores', f'{split}.json')

    def scored_splits(self) -> List[str]:
        """The config's splits the members score (not val once pooled)."""
        return [s for s in SCORED_SPLITS if self.cfg.get(f'{s}_dataloader')
                and not (self.include_val and s == 'val')]

    def score_member(self, member: Member, checkpoint: str,
                     device: str = 'auto') -> None:
        """Write the member's probabilities on every scored split.

        The model and checkpoint load through :func:`mer_toolbox.apis.init_model`
        (strict), the split's loader and the config's test evaluator are
        built as the Runner builds them, and each batch goes through
        ``model.test_step`` (what MMEngine's test loop runs), without a
        Runner per split (its start-up would cost more than the scoring).
        """
        import torch
        from mmengine.evaluator import Evaluator
        from mmengine.registry import DefaultScope
        from mmengine.runner import Runner

        from ..apis import init_model
        from ..registry import METRICS
        todo = [s for s in self.scored_splits()
                if not osp.isfile(self.score_path(member, s))]
        if not todo:
            return
        cfg = Config.fromfile(self.config_path(member))
        model = init_model(cfg, checkpoint, device=device)
        with DefaultScope.overwrite_default_scope('mer_toolbox'):
            for split in todo:
                loader = Runner.build_dataloader(
                    copy.deepcopy(self.cfg[f'{split}_dataloader']))
                metrics = [METRICS.build(dict(m, print_table=False)
                                         if m.get('type') == 'EmotionMetric'
                                         else m)
                           for m in _as_list(cfg.test_evaluator)]
                evaluator = Evaluator(metrics)
                evaluator.dataset_meta = loader.dataset.metainfo
                with torch.no_grad():
                    for batch in loader:
                        evaluator.process(model.test_step(batch), batch)
                evaluator.evaluate(len(loader.dataset))
                metric = next(m for m in metrics
                              if getattr(m, 'last_report', None) is not None)
                with replaced_atomically(self.score_path(member, split)) as tmp:
                    metric.dump_report_json(tmp, include_predictions=True)

    def load_scores(self, member: Member, split: str) -> dict:
        path = self.score_path(member, split)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} is missing: member {member.name} has not finished '
                f'(run --only fold={member.fold},seed={member.seed} first)')
        with open(path, encoding='utf-8') as f:
            return json.load(f)

    def ensemble(self, split: str,
                 members: Optional[Sequence[Member]] = None) -> dict:
        """Mean of the members' ``(N, C)`` probabilities on ``split``.

        Returns:
            ``dict(names, class_names, gt_labels, scores, metrics)``;
            ``metrics`` is ``None`` when the split has no labels.
        """
        members = list(members or self.members)
        reports = [self.load_scores(m, split) for m in members]
        first = reports[0]
        for m, r in zip(members, reports):
            if r['names'] != first['names'] or r['class_names'] != first['class_names']:
                raise ValueError(f'{self.score_path(m, split)}: clips or classes '
                                 f'differ from {members[0].name}\'s')
        scores = np.mean([np.asarray(r['pred_scores'], np.float64)
                          for r in reports], axis=0)  # (N, C)
        gt = np.asarray(first['gt_labels'], np.int64)  # (N,)
        labelled = gt >= 0
        metrics = None
        if labelled.any():
            report = emotion_metrics(gt[labelled], scores[labelled].argmax(1),
                                     len(first['class_names']))
            metrics = {k: report[k] for k in ('waf', 'accuracy', 'macro_f1', 'uar')}
        return dict(names=first['names'], class_names=first['class_names'],
                    gt_labels=gt, scores=scores, metrics=metrics)

    def write_ensemble(self, split: str) -> dict:
        """``W/predictions_<split>.csv`` of the ensemble; returns its result."""
        result = self.ensemble(split)
        write_predictions_csv(osp.join(self.work_dir, f'predictions_{split}.csv'),
                              result['names'], result['scores'],
                              result['class_names'])
        return result

    # ------------------------------------------------------------- report
    def report(self, metric: str = 'emotion/waf') -> Tuple[Table, dict]:
        """Per-member table (held-out fold score, val / test scores) with a
        mean ± std row and the ensemble; writes ``W/predictions_<split>.csv``.

        Args:
            metric: the validation key a member picks its best epoch by
                (when its config keeps a best checkpoint; else each member's
                result is its final epoch).

        Returns:
            ``(table, metrics)``: the table and everything for
            ``cv_metrics.json``.
        """
        from ..visualization.results import summarize_run
        splits = self.scored_splits()
        short = metric.rpartition('/')[2]
        held_key = 'held_out' if self.folds > 1 else 'val (monitor)'
        columns = ['member', 'fold', 'seed', 'epoch',
                   f'{held_key} {short}'] + [f'{s} waf' for s in splits]
        table = Table(columns)
        per_member = {}
        for m in self.members:
            scores = {s: self.load_scores(m, s)['metrics'] for s in splits}
            values = summarize_run(self.member_dir(m), metric).values
            per_member[m.name] = dict(fold=m.fold, seed=m.seed,
                                      epoch=values.get('epoch'),
                                      held_out=values.get(f'val_{short}'),
                                      splits=scores)
            table.add_row([m.name, m.fold, m.seed, values.get('epoch'),
                           values.get(f'val_{short}')]
                          + [scores[s].get('waf') for s in splits])
        table.add_row(['mean ± std', '', '', ''] + [
            _mean_std([r[i] for r in table.rows[:len(self.members)]])
            for i in range(4, len(columns))])
        ensembles = {s: self.write_ensemble(s)['metrics'] for s in splits}
        table.add_row(['ensemble (mean prob.)', '', '', '', None]
                      + [(ensembles[s] or {}).get('waf') for s in splits])
        out = dict(folds=self.folds, seeds=self.seeds, metric=metric,
                   members=per_member, ensemble=ensembles)
        if len(self.seeds) > 1:  # one ensemble per training seed
            per_seed = {s: {split: self.ensemble(split, [
                m for m in self.members if m.seed == s])['metrics']
                for split in splits} for s in self.seeds}
            out['ensemble_per_seed'] = per_seed
            for split in splits:
                waf = [(per_seed[s][split] or {}).get('waf') for s in self.seeds]
                table.add_row([f'per-seed ensembles ({split})', '', '', '',
                               None] + [_mean_std(waf) if s == split else None
                                        for s in splits])
        return table, out


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _mean_std(values: Sequence[Optional[float]]) -> Optional[str]:
    """``mean ± sample std`` (ddof=1) of the present values, as text."""
    vals = np.array([v for v in values if v is not None], np.float64)
    if vals.size == 0:
        return None
    if vals.size == 1:
        return f'{vals[0]:.2f}'
    return f'{vals.mean():.2f} ± {vals.std(ddof=1):.2f}'

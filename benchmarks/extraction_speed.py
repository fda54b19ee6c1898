"""Extraction throughput (clips/s) and where the time goes: decode / faces / encoders.

CPU, tiny random checkpoints (what CI machines can run; measures the
toolbox's own overhead: decoding, face detection, batching, writing):

    python benchmarks/extraction_speed.py --clips 16 --seconds 3

GPU, real-size architectures with random weights (CLIP ViT-L/14 vision tower,
HuBERT-large; configs typed below because hub downloads are impossible on
the machines we test on). Runs only with ``--device cuda``:

    python benchmarks/extraction_speed.py --device cuda --real-size --dtype float16

Ranks x decode workers (each combination runs ``tools/extract_features.py``,
under torchrun when ranks > 1, on the same clips; clips/s is the tool's own
figure from summary.json, model loading and process start not counted):

    python benchmarks/extraction_speed.py --clips 32 --seconds 3 --ranks 1 2 4 --workers 0 1 2
    python benchmarks/extraction_speed.py --device cuda --real-size --dtype float16 --workers 0 2 4

Clips are synthetic mp4 files (H.264 + AAC, written with PyAV) of the chosen
size and length; the first clip is a warm-up and is not timed. Results and the
machine they came from belong in benchmarks/README.md.
"""
import argparse
import csv
import json
import os
import os.path as osp
import platform
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

from mer_toolbox.fileio.clip_list import Clip  # noqa: E402
from mer_toolbox.media import FeatureExtractor, run_extraction  # noqa: E402
from mer_toolbox.media.demo_assets import (build_tiny_checkpoints,  # noqa: E402
                                           write_synthetic_clip)

# openai/clip-vit-large-patch14, vision tower (values from its config.json)
CLIP_L14_VISION = dict(hidden_size=1024, intermediate_size=4096,
                       num_hidden_layers=24, num_attention_heads=16,
                       image_size=224, patch_size=14, projection_dim=768,
                       hidden_act='quick_gelu', layer_norm_eps=1e-5)
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# TencentGameMate/chinese-hubert-large (= facebook/hubert-large-ll60k shape)
HUBERT_LARGE = dict(hidden_size=1024, num_hidden_layers=24,
                    num_attention_heads=16, intermediate_size=4096,
                    conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2),
                    conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_bias=True,
                    feat_extract_norm='layer', do_stable_layer_norm=True,
                    num_conv_pos_embeddings=128,
                    num_conv_pos_embedding_groups=16)


def real_size_checkpoints(folder: str) -> dict:
    """Random-weight CLIP-L/14 vision and HuBERT-large saved like hub checkpoints."""
    from transformers import (CLIPImageProcessor, CLIPVisionConfig,
                              CLIPVisionModelWithProjection, HubertConfig,
                              HubertModel, Wav2Vec2FeatureExtractor)
    torch.manual_seed(0)
    paths = dict(clip=osp.join(folder, 'clip-vit-large-patch14'),
                 hubert=osp.join(folder, 'chinese-hubert-large'))
    CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_L14_VISION)
                                  ).save_pretrained(paths['clip'])
    CLIPImageProcessor(size={'shortest_edge': 224},
                       crop_size={'height': 224, 'width': 224},
                       image_mean=CLIP_MEAN, image_std=CLIP_STD
                       ).save_pretrained(paths['clip'])
    HubertModel(HubertConfig(**HUBERT_LARGE)).save_pretrained(paths['hubert'])
    Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                             return_attention_mask=True
                             ).save_pretrained(paths['hubert'])
    return paths


def feature_sets(models: dict, args) -> list:
    common = dict(device=args.device, dtype=args.dtype)
    sets = [dict(encoder=dict(type='CLIPVisionEncoder', pretrained=models['clip'],
                              batch_size=args.batch_size, **common),
                 levels=('UTT', 'FRA')),
            dict(encoder=dict(type='HFAudioEncoder', pretrained=models['hubert'],
                              layers=[-4, -3, -2, -1] if args.real_size
                              else [-2, -1], chunk_seconds=20.0,
                              **common))]
    if 'bloom' in models:
        sets.append(dict(encoder=dict(type='HFTextEncoder',
                                      pretrained=models['bloom'], **common)))
    if 'timm' in models:
        sets.append(dict(encoder=dict(type='TimmImageEncoder',
                                      pretrained=models['timm'], **common)))
    return sets


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def sweep(args, tmp: str, clips: list, models: dict) -> list:
    """Run the tool once per (ranks, workers) on ``clips``; one row each."""
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    tool = osp.join(repo, 'tools', 'extract_features.py')
    listing = osp.join(tmp, 'clips.csv')
    with open(listing, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['name', 'path', 'subtitle'])
        writer.writerows([c.name, c.video, c.subtitle] for c in clips)
    config = osp.join(tmp, 'extract.py')
    with open(config, 'w', encoding='utf-8') as f:
        f.write(f"clips = dict(list_file={listing!r})\n"
                f"video = dict(num_frames={args.num_frames}, faces=dict("
                f"detector=dict(type={args.detector!r})))\n"
                f"feature_sets = {feature_sets(models, args)!r}\n"
                f"output = dict(root={osp.join(tmp, 'unused')!r})\n")
    threads = str(args.threads or 1)
    env = dict(os.environ, OMP_NUM_THREADS=threads, PYTHONPATH=repo,
               HF_HUB_OFFLINE='1')
    rows = []
    for ranks in args.ranks:
        for workers in args.workers:
            root = osp.join(tmp, f'out_r{ranks}_w{workers}')
            launch = ([sys.executable, '-m', 'torch.distributed.run',
                       f'--nproc-per-node={ranks}',
                       f'--master-port={_free_port()}'] if ranks > 1
                      else [sys.executable])
            t0 = time.perf_counter()
            proc = subprocess.run(launch + [
                tool, config, '--root', root, '--num-workers', str(workers),
                '--no-progress'], env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                sys.exit(f'ranks={ranks} workers={workers} failed '
                         f'({proc.returncode}):\n{proc.stderr[-3000:]}')
            with open(osp.join(root, 'summary.json'), encoding='utf-8') as f:
                summary = json.load(f)
            rows.append(dict(ranks=ranks, workers=workers,
                             clips_per_second=summary['clips_per_second'],
                             run_s=summary['seconds'],
                             wall_with_start_s=round(wall, 1),
                             load_avg=round(os.getloadavg()[0], 1)))
            print(f"ranks {ranks}  workers {workers}: "
                  f"{summary['clips_per_second']:.2f} clips/s "
                  f"({summary['seconds']:.1f}s; {wall:.1f}s with process "
                  f"start and model load)", flush=True)
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--clips', type=int, default=16)
    parser.add_argument('--seconds', type=float, default=3.0)
    parser.add_argument('--size', default='640x360', help='WIDTHxHEIGHT')
    parser.add_argument('--fps', type=int, default=25)
    parser.add_argument('--num-frames', type=int, default=16)
    parser.add_argument('--detector', default='opencv_haar',
                        choices=('opencv_haar', 'mtcnn', 'dlib_hog', 'auto', 'none'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--dtype', default='float32')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--real-size', action='store_true',
                        help='CLIP-L/14 + HuBERT-large (needs --device cuda)')
    parser.add_argument('--timm', action='store_true',
                        help='add a tiny timm set (CPU mode)')
    parser.add_argument('--threads', type=int,
                        help='torch / OpenCV threads (1 on a busy machine)')
    parser.add_argument('--ranks', type=int, nargs='+', default=[1],
                        help='torchrun processes (sweep: several values)')
    parser.add_argument('--workers', type=int, nargs='+', default=[0],
                        help='decode workers per rank (sweep: several values)')
    parser.add_argument('--json', help='also write the results here')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.real_size and not args.device.startswith('cuda'):
        sys.exit('--real-size runs only with --device cuda')
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        sys.exit('--device cuda but CUDA is not available')
    width, height = (int(v) for v in args.size.split('x'))
    if args.threads:
        import cv2
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        clips = [Clip(f'clip_{i:03d}', write_synthetic_clip(
            osp.join(tmp, 'clips', f'clip_{i:03d}.mp4'), seconds=args.seconds,
            fps=args.fps, size=(width, height), tone_hz=200.0 + 50 * i),
            'I am so happy today, it is wonderful!')
            for i in range(args.clips + 1)]
        if args.real_size:
            models = real_size_checkpoints(osp.join(tmp, 'models'))
        else:
            kinds = ('clip', 'hubert', 'bloom') + (('timm',) if args.timm else ())
            models = build_tiny_checkpoints(osp.join(tmp, 'models'), kinds=kinds)
        setup = time.perf_counter() - t0
        if args.ranks != [1] or len(args.workers) > 1:
            rows = sweep(args, tmp, clips[1:], models)
            return _report_sweep(args, rows)
        t0 = time.perf_counter()
        extractor = FeatureExtractor(
            feature_sets(models, args),
            video=dict(num_frames=args.num_frames,
                       faces=dict(detector=dict(type=args.detector))))
        load = time.perf_counter() - t0
        extractor.extract(clips[0].video, clips[0].subtitle)  # warm-up
        extractor.timings.clear()
        summary = run_extraction(extractor, clips[1:], osp.join(tmp, 'out'),
                                 progress=False,
                                 decode=dict(num_workers=args.workers[0]))
    result = dict(
        mode='real-size' if args.real_size else 'tiny', device=args.device,
        dtype=args.dtype, torch_threads=torch.get_num_threads(),
        gpu=torch.cuda.get_device_name(0) if args.device.startswith('cuda')
        else None, cpu=platform.processor() or platform.machine(),
        cores=os.cpu_count(), clips=args.clips, seconds_per_clip=args.seconds,
        size=args.size, fps=args.fps, num_frames=args.num_frames,
        detector=args.detector, workers=args.workers[0],
        setup_s=round(setup, 1),
        model_load_s=round(load, 1), run_s=summary['seconds'],
        clips_per_second=summary['clips_per_second'],
        failed=summary['failed'], timings=summary['timings'])
    total = sum(summary['timings'].values()) or 1.0
    print(f"{result['mode']} on {args.device} ({args.dtype}), "
          f"{args.clips} clips of {args.seconds:g}s {args.size}@{args.fps}fps, "
          f"{args.num_frames} frames/clip, detector={args.detector}")
    print(f"throughput: {summary['clips_per_second']:.2f} clips/s "
          f"({summary['seconds']:.1f}s; model load {load:.1f}s not counted)")
    for stage, sec in sorted(summary['timings'].items(), key=lambda kv: -kv[1]):
        print(f'  {stage:<36s} {sec:8.2f}s  {100 * sec / total:5.1f}%  '
              f'{1000 * sec / args.clips:8.1f} ms/clip')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(result, f, indent=2)
    return 0 if summary['failed'] == 0 else 1


def _report_sweep(args, rows: list) -> int:
    """Print the ranks x workers table (markdown) and write the JSON."""
    print(f"\n{'real-size' if args.real_size else 'tiny'} models on "
          f"{args.device}, {os.cpu_count()} cores, {args.clips} clips of "
          f"{args.seconds:g}s {args.size}, detector={args.detector}\n")
    print('| ranks | ' + ' | '.join(f'{w} workers' for w in args.workers)
          + ' |')
    print('|---|' + '---|' * len(args.workers))
    for ranks in args.ranks:
        cells = [f"{r['clips_per_second']:.2f}" for r in rows
                 if r['ranks'] == ranks]
        print(f'| {ranks} | ' + ' | '.join(cells) + ' |')
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(dict(device=args.device, real_size=args.real_size,
                           cores=os.cpu_count(), clips=args.clips,
                           rows=rows), f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())

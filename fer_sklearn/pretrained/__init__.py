"""Weights of the shipped models; see load_pretrained."""

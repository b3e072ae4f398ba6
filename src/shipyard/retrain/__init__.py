"""Continuous training: triggers, the single-flight lock, and the retrain -> gate -> roll-out loop."""

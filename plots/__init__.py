"""Scripts that turn run folders into figures (no TensorFlow); see plots/run_logs.py."""

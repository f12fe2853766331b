"""Many runs of main.py: settings rows, run records and keys, the Ray driver, validation-only search, paired
statistics over runs, and the tables and figures rendered from the records (scripts/reproduce.py,
scripts/tune.py, scripts/study.py, scripts/table3.py). No TensorFlow anywhere here, and Ray only inside
the driver's functions (experiments/ray_driver.py), so that the library never needs either.
"""

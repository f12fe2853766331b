"""Export a finished run's selected checkpoint as a TensorFlow SavedModel that keeps each student's state.

    python export.py RUN_DIR                   # writes RUN_DIR/export/<YYYYmmddHHMMSS>/
    python export.py RUN_DIR --out DIR         # DIR must not exist

The export holds a SavedModel (tag "serve", written with tf.compat.v1.saved_model: TF 1.14 and 2.x load it
without this repository's code) with three signatures, `step` (a batch of states, skills and answers in;
P(correct) before the answer, the new states and the knowledge state out), `initial_state` and
`predict_history` (whole histories in, the state carried from the first answer to the last: no SEQ_LEN cut),
plus skills.csv (the run's skill table: signatures take the `skill` index) and export.json (model, state size
and layout, the signatures, versions). utils/serving.py builds it; docs/serving.md ("Use a trained model in
an application") shows a client.

The default folder name is a number, as TensorFlow Serving expects of a model version under
--model_base_path=RUN_DIR/export. Nothing is overwritten: the export is written in a hidden folder beside its
folder and renamed into place at the end; a failed write (a read-only or full disk) leaves nothing behind, and
what a killed export left there is removed by the next export to the same folder. A folder that is not a
finished run, a selected checkpoint that is missing or damaged, and a failed write are one `error:` line and
exit status 2. export.json says the export's `format_version` (utils/serving.py FORMAT_VERSION).
"""
import os
import sys

from utils.quiet import quiet_tensorflow
quiet_tensorflow()  # before TensorFlow loads: its start-up lines are noise (utils/quiet.py)

import tensorflow.compat.v1 as tf  # noqa: E402

from utils import run_files  # noqa: E402
from utils.commands import run_folder_program  # noqa: E402
from utils.config import parse_overrides  # noqa: E402
from utils.errors import ConfigError  # noqa: E402
from utils.serving import ServingModel, default_export_dir  # noqa: E402
from utils.trained_model import opened  # noqa: E402


def export(run_dir, argv=(), log=print, model=None):
    """Runs the command line `argv` (without RUN_DIR); returns the export folder.

    `model` (a utils.trained_model.TrainedModel of run_dir) reuses an open model instead of building one.
    """
    options = parse_overrides(list(argv), {"out": ""})
    run_files.read_finished_run(run_dir)  # a clear error before TensorFlow builds anything
    out_dir = options["out"] or default_export_dir(run_dir)
    if os.path.exists(out_dir):
        raise ConfigError("%s already exists: give another --out (an export never overwrites)" % out_dir)
    with opened(run_dir, model) as trained, ServingModel(trained) as serving:
        serving.export(out_dir, log=log)
        log("%s (%s, %d skills, state of %d floats per student, checkpoint %s): wrote %s" % (
            run_dir, serving.model_name, serving.n_skills, serving.state_size, trained.checkpoint, out_dir))
    return out_dir


USAGE = "usage: python export.py RUN_DIR [--out DIR]"


def main(argv):
    def body(run_dir, options):
        tf.logging.set_verbosity(tf.logging.ERROR)
        tf.disable_v2_behavior()
        export(run_dir, options)
    return run_folder_program(argv, USAGE, body, writing="the export")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

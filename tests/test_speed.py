"""benchmarks/speed.py records what each side was built with: the peer's torch read in the peer's own Python
(here a stand-in torch package on PYTHONPATH), the CPU's identity, and the peer's OpenMP wait policy."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from processes import still_running_after

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL = "torch-9.9.0+cpu-cp311-cp311-linux_x86_64.whl"

FAKE_CONFIG = """PyTorch built with:
  - GCC 13.3
  - Intel(R) oneAPI Math Kernel Library Version 2024.2-Product Build 20240605 for Intel(R) 64 architecture
  - Intel(R) MKL-DNN v3.12.0 (Git Hash 80afa71049cd69a3df32adcccb623b12cd7baa22)
  - OpenMP 201511 (a.k.a. OpenMP 4.5)
  - CPU capability usage: AVX512
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, TORCH_VERSION=9.9.0, USE_MKL=ON,
"""

FAKE_TORCH = '''
__version__ = "9.9.0+cpu"
_threads = [8]


class version:
    cuda = None


class __config__:
    @staticmethod
    def show():
        return %r

    @staticmethod
    def parallel_info():
        return "ATen/Parallel:\\n\\tat::get_num_threads() : 8\\nATen parallel backend: OpenMP\\n"


def set_num_threads(n):
    _threads[0] = n


def get_num_threads():
    return _threads[0]


def get_num_interop_threads():
    return 8


class backends:
    class cpu:
        get_cpu_capability = staticmethod(lambda: "AVX512")

    class mkl:
        is_available = staticmethod(lambda: True)

    class mkldnn:
        is_available = staticmethod(lambda: True)
''' % FAKE_CONFIG


@pytest.fixture(scope="module")
def speed():
    path = os.path.join(ROOT, "benchmarks", "speed.py")
    spec = importlib.util.spec_from_file_location("speed_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_torch(folder):
    """A package `torch` and its pip metadata (installed by pip from a local wheel file) in `folder`."""
    os.makedirs(os.path.join(folder, "torch"))
    with open(os.path.join(folder, "torch", "__init__.py"), "w") as f:
        f.write(FAKE_TORCH)
    info = os.path.join(folder, "torch-9.9.0+cpu.dist-info")
    os.makedirs(info)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: torch\nVersion: 9.9.0+cpu\nRequires-Dist: filelock\n")
    with open(os.path.join(info, "INSTALLER"), "w") as f:
        f.write("pip\n")
    with open(os.path.join(info, "direct_url.json"), "w") as f:
        json.dump({"url": "file:///wheels/" + WHEEL, "archive_info": {}}, f)
    return folder


def test_peer_build_is_read_in_the_peers_python(speed, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", fake_torch(str(tmp_path)))
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    args = speed.parse_args(["--peer-python", sys.executable, "--threads", "2"])
    build = speed.peer_build(args)
    assert "error" not in build, build.get("error")
    assert build["torch"] == "9.9.0+cpu" and build["cuda"] is None
    assert build["blas"] == "mkl"
    assert build["onednn"].startswith("Intel(R) MKL-DNN v3.12.0")
    assert build["cpu_capability"] == "AVX512" and build["compiled_cpu_capability"].endswith("AVX512")
    assert build["parallel_backend"] == "ATen parallel backend: OpenMP"
    assert (build["threads"], build["interop_threads"]) == (2, 8)   # the peer script sets the threads only
    if sys.version_info >= (3, 8):  # the install record is read with importlib.metadata (torch needs 3.8+)
        assert build["torch_installer"] == "pip"
        assert build["torch_direct_url"] == WHEEL
        assert build["torch_requires"] == ["filelock"]
        assert "torch==9.9.0+cpu" in build["packages"]
    assert build["environment"] == {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_CORETYPE": "Haswell"}


def test_peer_build_without_torch_is_an_error_entry(speed, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))   # an empty folder: no stand-in torch
    build = speed.peer_build(speed.parse_args(["--peer-python", sys.executable]))
    if "error" not in build:
        pytest.skip("this Python has a torch of its own")
    assert "No module named 'torch'" in build["error"]


@pytest.mark.parametrize("policy, expected", [("PASSIVE", "PASSIVE"), ("ACTIVE", "ACTIVE"), ("unset", None)])
def test_peer_omp_wait_policy(speed, monkeypatch, policy, expected):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    args = speed.parse_args(["--peer-omp-wait-policy", policy])
    assert speed.peer_environment(args.peer_omp_wait_policy).get("OMP_WAIT_POLICY") == expected


def test_peer_omp_wait_policy_defaults_to_the_environment_else_passive(speed, monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert speed.parse_args([]).peer_omp_wait_policy == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert speed.parse_args([]).peer_omp_wait_policy == "ACTIVE"


def test_cpu_identity_names_the_generation_and_vector_features(speed, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
                       "model name\t: Intel(R) Xeon(R) Processor\nstepping\t: 8\ncpu MHz\t\t: 2100.000\n"
                       "cache size\t: 107520 KB\nflags\t\t: fpu avx2 fma avx512f avx512_vnni amx_tile\n\n"
                       "processor\t: 1\nvendor_id\t: GenuineIntel\nflags\t\t: fpu\n")
    identity = speed.cpu_identity(str(cpuinfo))
    assert identity == {"vendor_id": "GenuineIntel", "cpu_family": "6", "model": "143", "stepping": "8",
                        "cpu_MHz": "2100.000", "cache_size": "107520 KB",
                        "features": ["avx2", "fma", "avx512f", "avx512_vnni", "amx_tile"]}
    assert speed.cpu_summary(identity) == ("family 6 model 143, 2100.000 MHz, "
                                           "avx2 fma avx512f avx512_vnni amx_tile")
    assert speed.cpu_identity(str(tmp_path / "missing")) is None


FAKE_PEER = '''
import argparse, json, os
ap = argparse.ArgumentParser()
for flag in ("--model", "--dim_s", "--size_m", "--hidden", "--threads", "--warmup", "--repeats"):
    ap.add_argument(flag)
args = ap.parse_args()
step = 0.1 * int(args.threads) + (0.5 if os.environ.get("OMP_WAIT_POLICY") == "PASSIVE" else 0.0)
step += 1.0 if os.environ.get("ATEN_CPU_CAPABILITY") == "default" else 0.0
def is_busy_loop(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return b"a busy core" in f.read()
    except OSError:
        return False
step += 0.01 * sum(is_busy_loop(pid) for pid in os.listdir("/proc") if pid.isdigit())
step *= 2 if args.model == "dkt" else 1
print(json.dumps({"model": args.model, "train_step_s_median": step}))
'''


def run_speed(argv):
    return subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "speed.py")] + argv,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=240)


def test_peer_grid_changes_one_setting_at_a_time(tmp_path, monkeypatch):
    """--peer-grid runs the peer as timed, then with the OpenMP default, 1 thread, busy cores and no vector
    kernels (a stand-in peer whose step says which settings it saw), and writes the table with the peer's
    build."""
    peer = tmp_path / "peer.py"
    peer.write_text(FAKE_PEER)
    monkeypatch.setenv("PYTHONPATH", fake_torch(str(tmp_path / "site")))
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    out = tmp_path / "out" / "grid.json"   # its folder is made, as benchmarks/out/ in a fresh clone
    done = run_speed(["--peer-grid", "--peer-python", sys.executable, "--peer-script", str(peer),
                      "--out", str(out)])
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    table = result["peer_grid"]["variants"]
    steps = {name: (row["dkvmn"], row["dkt"]) for name, row in table.items()}
    assert steps["as timed"] == pytest.approx((0.7, 1.4))
    assert steps["OpenMP default waiting"] == pytest.approx((0.2, 0.4))
    assert steps["1 thread"] == pytest.approx((0.6, 1.2))
    assert steps["no vector kernels (ATen default)"] == pytest.approx((1.7, 3.4))
    busy = os.cpu_count()   # one idle-priority loop per core, running only while that variant runs
    assert steps["beside idle-priority busy loops"] == pytest.approx((0.7 + 0.01 * busy, 1.4 + 0.02 * busy))
    assert len(result["peer_grid"]["runs"]["as timed"]["dkvmn"]) == 2   # two rounds
    assert result["peer_build"]["torch"] == "9.9.0+cpu"
    assert "| OpenMP default waiting | 0.200 | 0.400 | 2 | unset |" in done.stdout


def test_peer_grid_without_a_peer_is_one_error_line(tmp_path):
    out = tmp_path / "grid.json"
    missing = str(tmp_path / "missing" / "python")
    done = run_speed(["--peer-grid", "--peer-python", missing, "--out", str(out)])
    assert done.returncode == 2
    assert done.stderr.startswith("error: the peer cannot run: ") and len(done.stderr.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("features, has_avx2_variant", [(["avx2", "fma"], False),
                                                        (["avx2", "fma", "avx512f"], True)])
def test_peer_grid_caps_avx512_only_where_the_cpu_has_it(speed, features, has_avx2_variant):
    variants = speed.peer_grid_variants(speed.parse_args(["--threads", "2"]), features)
    assert ("AVX2 kernels (no AVX-512)" in variants) == has_avx2_variant
    if has_avx2_variant:
        assert variants["AVX2 kernels (no AVX-512)"].environment == {
            "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


BUSY_PARENT = """
import sys, time
sys.argv = ["speed.py"]
sys.path.insert(0, %r)
import speed
with speed.busy_cores(2):
    print("busy", flush=True)
    time.sleep(120)
"""


def busy_loops_of(parent):
    """The pids of the busy loops whose parent is `parent`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as status, open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                ppid = [line.split()[1] for line in status if line.startswith("PPid:")]
                if ppid == [str(parent)] and b"a busy core" in cmdline.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_the_busy_loops_end_by_themselves_when_the_benchmark_is_killed():
    """A `timeout` or a kill ends the benchmark without its finally blocks: its busy loops must not spin."""
    parent = subprocess.Popen([sys.executable, "-c", BUSY_PARENT % os.path.join(ROOT, "benchmarks")],
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert parent.stdout.readline() == "busy\n"
        loops = busy_loops_of(parent.pid)
        assert len(loops) == 2
    finally:
        parent.kill()
        parent.wait()
    assert not still_running_after(loops, seconds=30)

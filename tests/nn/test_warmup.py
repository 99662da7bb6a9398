"""Compiling before a run (lstmcast.nn.warmup): the kernels a fit calls and no others, in
float32; on a cold cache with an idle CPU the backward kernel compiled by a second
process, with none this process compiles it; nothing compiled once cached. No timings
here: benchmarks/speed/cli.py measures them."""

import json
import os
import subprocess
import sys

from conftest import daily_frame
from lstmcast.nn import warmup

SCRIPT = r"""
import json, sys
from lstmcast.nn import kernels, warmup
from lstmcast.nn.network import num_threads

def state():
    return {name: {"signatures": sorted(str(s) for s in d.signatures), "misses": sum(d.stats.cache_misses.values()),
                   "hits": sum(d.stats.cache_hits.values())}
            for name, d in (("forward", kernels.forward), ("backward", kernels.backward))}

ensemble = sys.argv[1] == "ensemble"
warmup.idle_cpus = lambda before: 2.0 if sys.argv[2] == "idle" else 0.0  # what the machine's other work leaves
seconds, compiled = warmup.warm_up(ensemble=ensemble)
warm = state()
if len(sys.argv) > 3:  # then a fit (of an ensemble) as the command line runs it
    from lstmcast.cli.app import main
    try:
        main(["fit", sys.argv[3], "--epochs", "2", "--hidden", "8", "--lookback", "14", "--horizon", "7", "-q",
              *(["--ensemble", "2"] if ensemble else [])])
    except SystemExit as e:
        assert not e.code, e.code
print(json.dumps({"compiled": compiled, "threads": num_threads(), "warm_up": warm, "fit": state()}))
"""
KERNELS = ("forward", "backward")


def _run(tmp_path, variant, cpus, *data):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", SCRIPT, variant, cpus, *data], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_warm_up_compiles_what_a_fit_calls_once_in_float32(tmp_path):
    daily_frame(200).to_csv(tmp_path / "d.csv", index=False)
    # a cold cache and an idle CPU: one network's kernels, members=None (no block code),
    # float32 only, backward from the cache a second process filled
    one = _run(tmp_path, "one", "idle", "d.csv")
    assert one["compiled"]
    for k in KERNELS:
        (sig,) = one["warm_up"][k]["signatures"]
        assert "none" in sig and "float32" in sig and "float64" not in sig
        assert one["fit"][k] == one["warm_up"][k]  # the fit compiled nothing more
    assert one["warm_up"]["forward"]["misses"] == 1
    if one["threads"] > 1:
        assert one["warm_up"]["backward"]["misses"] == 0 and one["warm_up"]["backward"]["hits"] == 1
    # an ensemble's first fit on busy CPUs: one network's kernels loaded, the ensemble's
    # variant compiled here, both kernels
    ens = _run(tmp_path, "ensemble", "busy", "d.csv")
    assert ens["compiled"]
    for k in KERNELS:
        assert len(ens["warm_up"][k]["signatures"]) == 2
        assert all("float64" not in s for s in ens["warm_up"][k]["signatures"])
        assert ens["warm_up"][k]["misses"] == 1 and ens["warm_up"][k]["hits"] == 1
        assert ens["fit"][k] == ens["warm_up"][k]
    # later: everything loaded, no second process
    again = _run(tmp_path, "ensemble", "idle")
    assert not again["compiled"] and all(again["warm_up"][k]["misses"] == 0 for k in KERNELS)


def test_idle_cpus_is_a_share_of_the_machine():
    assert warmup.idle_cpus(None) == float("inf")  # not Linux: no /proc/stat to ask
    idle = warmup.idle_cpus(warmup._cpu_ticks())
    assert 0 <= idle <= (os.cpu_count() or 1) or idle == float("inf")

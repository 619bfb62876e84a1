"""The Check button pressed five times in a row on the real cluster: only the newest verdict is
shown, the four older runs are cancelled, and once the background cleanup is done no
namespace, pod or node file of any of the five runs is left."""
import json
import shutil
import time

import pytest

import grader
from grader.checkrun import CHECK_RUNS
from grader.checks.live import LAB_IMAGE, SECCOMP_NODE_DIR, TOKEN_LABEL
from grader.exercises.common import EXERCISES_DIR
from labs import widgets
from labs.cluster import ensure_cluster, installed_seccomp_profiles, load_images, node_names
from labs.pods import core_api

EX = "04-least-privilege-nginx"


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ensure_cluster("default")
    load_images([LAB_IMAGE])


def _leftovers(tokens: list[str]) -> list[str]:
    api, found = core_api(), []
    for token in tokens:
        selector = f"{TOKEN_LABEL}={token}"
        found += [f"namespace {n.metadata.name}" for n in api.list_namespace(label_selector=selector).items]
        found += [f"pod {p.metadata.name}" for p in api.list_pod_for_all_namespaces(label_selector=selector).items]
        found += [f"{node}:{SECCOMP_NODE_DIR}/{f}" for node in node_names() for f in installed_seccomp_profiles(node)
                  if f.startswith(f"grader-{token}")]
    return found


def test_five_quick_presses_show_the_newest_verdict_and_leave_nothing(tmp_path, monkeypatch):
    tokens = []
    start = CHECK_RUNS.start
    monkeypatch.setattr(CHECK_RUNS, "start", lambda key, config: tokens.append(start(key, config)) or tokens[-1])
    solution = json.loads((EXERCISES_DIR / EX / "solution" / "profile.json").read_text())
    too_open = json.loads(json.dumps(solution))
    too_open["syscalls"].insert(0, {"names": ["mkdir", "unshare"], "action": "SCMP_ACT_ALLOW", "comment": "x"})
    work = tmp_path / EX
    work.mkdir()
    (work / "profile.json").write_text(json.dumps(too_open))
    panel = widgets.CheckPanel(grader.check, EX, run_now=False, submission=work)
    threads = []
    for press in range(5):
        if press == 4:
            shutil.copyfile(EXERCISES_DIR / EX / "solution" / "profile.json", work / "profile.json")
        panel.button.click()
        threads.append(panel._thread)
        time.sleep(1.5)   # long enough for a run to reach the cluster before the next press cancels it
    for thread in threads:
        thread.join(600)
    report = panel.report
    assert panel.runs == 1 and report.problem == "" and report.score == report.max_score == 10, str(report)
    assert all(run.cancel.is_set() for run in tokens[:4]) and not tokens[4].cancel.is_set()
    assert CHECK_RUNS.wait_idle(600) and not CHECK_RUNS.errors
    assert _leftovers([run.token for run in tokens]) == []

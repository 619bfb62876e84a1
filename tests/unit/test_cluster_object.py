"""The cluster object (labs.cluster.Cluster) without a cluster: resolved once from its config,
the one coercion from a config name, node listing from the engine's answer, node operations
and kubeconfig handed on. The engine is replaced by a recorder; the config files are real
files in a temporary folder."""
from __future__ import annotations

import pytest

from labs import kube
from labs.cluster import CONFIGS, Cluster, ClusterConfig, as_cluster, get_cluster, handle, register_config
from labs.engine import FakeEngine
from labs.errors import EnvironmentProblem, LabError
from labs.nodeops import choose
from labs.nodeops.kind import KindNodeOps


@pytest.fixture
def course_config(tmp_path, monkeypatch):
    """A registered config "t-shape" whose kind file names the cluster course-t."""
    monkeypatch.setattr(handle, "_CLUSTERS", {})
    monkeypatch.setitem(CONFIGS, "t-shape", CONFIGS["default"])   # restored after the test
    file = tmp_path / "t.yaml"
    file.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: course-t\n")
    register_config(ClusterConfig("t-shape", file))
    return file


def test_a_config_is_read_once_and_the_object_is_shared(course_config):
    cluster = get_cluster("t-shape")
    assert (cluster.config, cluster.name, cluster.kubeconfig.name) == ("t-shape", "course-t", "kubeconfig-t-shape")
    course_config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: course-renamed\n")
    assert get_cluster("t-shape") is cluster and cluster.name == "course-t"   # no re-read at each step
    handle.forget_clusters()
    assert get_cluster("t-shape").name == "course-renamed"


def test_another_state_folder_gets_its_own_object(course_config, tmp_path, monkeypatch):
    first = get_cluster("t-shape")
    monkeypatch.setenv("COURSE_STATE_DIR", str(tmp_path / "other-state"))
    moved = get_cluster("t-shape")
    assert moved is not first and moved.kubeconfig == tmp_path / "other-state" / "kubeconfig-t-shape"


def test_the_one_coercion_keeps_objects_and_resolves_names(course_config):
    cluster = get_cluster("t-shape")
    assert as_cluster(cluster) is cluster
    assert as_cluster("t-shape") is cluster
    assert as_cluster(None) is get_cluster("default") and get_cluster().config == "default"
    with pytest.raises(LabError, match="unknown cluster config 'nope'"):
        as_cluster("nope")


def test_nodes_are_asked_of_the_engine_by_kind_name_each_time(course_config):
    cluster = get_cluster("t-shape")
    with FakeEngine() as fake:
        fake.answer("ps", stdout="course-t-worker\trunning\tworker\ncourse-t-control-plane\texited\tcontrol-plane\n")
        assert cluster.nodes() == ["course-t-control-plane", "course-t-worker"]
        fake.answer("ps", stdout="")
        with pytest.raises(EnvironmentProblem, match="'t-shape' cluster has no nodes") as raised:
            cluster.nodes()
    assert "label=io.x-k8s.kind.cluster=course-t" in fake.argvs[0]
    assert "python -m labs.cluster ensure t-shape" in raised.value.fix


def test_node_operations_get_the_object_and_a_name_finds_the_same_ones(course_config, monkeypatch):
    cluster = get_cluster("t-shape")
    ops = KindNodeOps(cluster)
    monkeypatch.setitem(choose._CHOSEN, ("t-shape", "kind"), ops)
    assert cluster.node_ops("kind") is ops
    with choose.on_cluster(cluster):
        assert choose.node_ops(mode="kind") is ops
    with pytest.raises(LabError, match="need a cluster"):
        choose.node_ops(mode="kind")   # outside on_cluster, nothing says which cluster
    monkeypatch.setattr(Cluster, "nodes", lambda self: [f"{self.name}-control-plane"])
    assert ops.nodes() == ["course-t-control-plane"]   # kind node ops ask the cluster, not labs.cluster


def test_the_api_client_reads_the_objects_kubeconfig(course_config, tmp_path):
    cluster = Cluster("t-shape", "course-t", tmp_path / "absent-kubeconfig")
    with pytest.raises(EnvironmentProblem, match=r"'t-shape' cluster at .*absent-kubeconfig"):
        kube.api_client(cluster)
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n")
    found = Cluster("t-shape", "course-t", tmp_path / "kubeconfig")
    assert found.api_client() is found.api_client()   # made once, kept while the file is unchanged
    assert found.api_client().configuration.host == "https://127.0.0.1:1"


def test_exercise_08_grades_the_multi_node_cluster_on_its_own_object(monkeypatch, tmp_path):
    from grader.context import GradingContext
    from grader.exercises import ex08_cluster_scale as ex08
    from labs import rollout

    ctx = GradingContext(ex08.EXERCISE, tmp_path, get_cluster(), "t1")
    monkeypatch.setattr(rollout, "nodes_ready", lambda cluster, timeout: {"n": (True, "")})
    target = ex08._target_cluster(ctx)
    assert target is get_cluster("multi-node") and ctx.cluster is get_cluster("default")

    def no_answer(cluster, timeout):
        raise LabError("no multi-node cluster")

    monkeypatch.setattr(rollout, "nodes_ready", no_answer)
    assert ex08._target_cluster(ctx) is ctx.cluster

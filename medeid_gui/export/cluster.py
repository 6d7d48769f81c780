"""The execute phase on a Dask cluster (``--cluster local:N`` or ``--cluster tcp://…|tls://…``).

Why Dask and not a scheduler of our own: an archive of millions of files outgrows one machine,
and keyed pseudonyms need no shared state, so the work fans out to stateless workers; Dask
(``dask.distributed``; ``dask-jobqueue`` on SLURM/PBS, ``dask-kubernetes`` on Kubernetes) already
reschedules the tasks of a worker that dies, shows a dashboard and runs everywhere.

The split of duties keeps the guarantees of the local pool: the client plans, submits *units* of
files and alone records the results (run database, manifest, linkage ledger) as they arrive, so
killing the client leaves a state the same command resumes from. Workers run the very function
the pool runs (``worker.process``/``process_group``) and write their outputs atomically on
storage the client also sees; a unit rerun elsewhere after a worker died rewrites the same bytes
under the same names, and the temporaries a killed worker left are removed when the run ends.

The key never travels in clear text: workers load it from the key *file* (its path travels, and
each worker proves it read the same key by its fingerprint). A worker that cannot read the file
gets the key bytes only over a ``tls://`` cluster; on plain ``tcp://`` the run is refused.
Dask is imported here only, and this module only when ``--cluster`` is given.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.export.atomic import cleanup_temporaries
from medeid_gui.export.config import ExportError
from medeid_gui.export.worker import FAIL, FileResult, Task, WorkerSetup

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

#: files per unit for a header-only export: a file takes a few ms and a Dask task costs about
#: 1-3 ms of scheduler and transfer time, so 32 files keep that overhead under 5 %
UNIT_FILES_HEADER = 32
#: files per unit when the pixel method runs (a frame takes ~100 ms on a CPU: overhead is nil)
UNIT_FILES_PIXELS = 4
#: Dask's ``distributed.scheduler.allowed-failures`` (default 3): how many workers may die
#: running one unit before it is given up (its files are then failed rows, never lost files)
ALLOWED_FAILURES = 3


@dataclass(frozen=True)
class ClusterAddress:
    """``local:N`` (a LocalCluster of N processes this run starts) or a scheduler address."""

    local_workers: int = 0
    scheduler: str = ""

    @property
    def tls(self) -> bool:
        return self.scheduler.startswith("tls://")


def parse_address(text: str) -> ClusterAddress:
    """``local:N``, ``tcp://host:port`` or ``tls://host:port``; ``ExportError`` otherwise."""
    text = text.strip()
    if text.startswith("local:"):
        try:
            n = int(text.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ExportError(f"--cluster local:N needs N >= 1, got {text!r}")
        return ClusterAddress(local_workers=n)
    if text.startswith(("tcp://", "tls://")) and len(text) > 6:
        return ClusterAddress(scheduler=text)
    raise ExportError(f"--cluster must be local:N, tcp://HOST:PORT or tls://HOST:PORT, got {text!r}")


# ---- worker side (runs in the Dask worker processes) ----------------------------------------

_LOCK = threading.Lock()  # one unit at a time per process: the worker state is per process
_READY: dict[str, str] = {}


def _key_fingerprint(key_file: str) -> str:
    """The fingerprint of the key this worker reads at ``key_file`` ('' when it cannot)."""
    from medeid_gui.deid.keys import ProjectKey

    try:
        return ProjectKey.from_file(key_file).fingerprint
    except Exception:  # noqa: BLE001 - an unreadable key is answered by the client's decision
        return ""


def _init(run_id: str, setup: WorkerSetup, key_hex: str) -> None:
    """Build this process's de-identifier once per run (from the file, or from bytes sent over TLS)."""
    from medeid_gui.export import worker

    if _READY.get("run") == run_id:
        return
    if key_hex:
        _init_from_bytes(setup, bytes.fromhex(key_hex))
    else:
        worker.init_worker(setup)
    _READY["run"] = run_id


def _init_from_bytes(setup: WorkerSetup, secret: bytes) -> None:
    """As ``worker.init_worker`` with the key held in memory only (never written on the worker)."""
    import warnings

    from medeid_gui.deid.engine import Deidentifier
    from medeid_gui.deid.keys import ProjectKey
    from medeid_gui.export import worker

    warnings.simplefilter("ignore")
    worker._STATE.clear()
    worker._STATE["setup"] = setup
    worker._STATE["deid"] = Deidentifier(setup.deid_config, ProjectKey(secret))


def run_unit(run_id: str, setup: WorkerSetup, key_hex: str, unit: list[Task]) -> list[FileResult]:
    """One unit on a worker: the pool's own worker function, so the output bytes are the same."""
    from medeid_gui.export.worker import process, process_group

    with _LOCK:
        _init(run_id, setup, key_hex)
        return process_group(unit) if len(unit) > 1 else [process(unit[0])]


# ---- client side -----------------------------------------------------------------------------


def unit_size(setup: WorkerSetup) -> int:
    """Files per Dask task: the pool's unit when its files share device batches, else ours."""
    if setup.shared_batches:
        return max(1, setup.group_files)
    return UNIT_FILES_PIXELS if setup.pixel_request is not None else UNIT_FILES_HEADER


def _units(tasks: list[Task], size: int) -> Iterator[list[Task]]:
    for i in range(0, len(tasks), size):
        yield tasks[i:i + size]


def _connect(addr: ClusterAddress) -> tuple[Client, Callable[[], None]]:
    """A client (and how to close it and any cluster it started)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExportError("--cluster needs Dask: pip install 'medeid[cluster]'") from None
    if addr.local_workers:
        cluster = LocalCluster(n_workers=addr.local_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=40)
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    try:
        client = Client(addr.scheduler, timeout="30s")
    except Exception as exc:  # noqa: BLE001 - any connection failure is a usage error
        raise ExportError(f"cannot reach the Dask scheduler at {addr.scheduler}: {exc}") from None
    return client, client.close


def _key_transport(client: Client, addr: ClusterAddress, key_file: str, fingerprint: str) -> str:
    """'' when every worker reads the same key from ``key_file``; the key's hex when it must be
    sent (TLS only); ``ExportError`` on plain TCP or when there are no workers."""
    seen = client.run(_key_fingerprint, key_file)
    if not seen:
        raise ExportError("the Dask cluster has no workers")
    if all(fp == fingerprint for fp in seen.values()):
        return ""
    if not addr.tls:
        bad = sorted(w for w, fp in seen.items() if fp != fingerprint)
        raise ExportError(
            f"workers cannot read the project key file {key_file} ({len(bad)} of {len(seen)}: {bad[0]}); "
            "put it on storage the workers see, or use a tls:// cluster (the key is never sent over plain tcp)"
        )
    from medeid_gui.deid.keys import ProjectKey

    return ProjectKey.from_file(key_file).secret.hex()


def _lost(task: Task, exc: BaseException) -> FileResult:
    why = f"workers running this file alone died {ALLOWED_FAILURES + 1} times ({type(exc).__name__})"
    return FileResult(task.path, FAIL, why)


def run_cluster_tasks(
    tasks: list[Task],
    setup: WorkerSetup,
    address: str,
    *,
    fingerprint: str,
    out_root: Path,
    notify: Callable[[str], None],
    cancel: Callable[[], bool] | None = None,
) -> Iterator[FileResult]:
    """Yield one ``FileResult`` per task as units finish on the cluster (``notify`` gets the
    dashboard link). At most 2 units per worker are in flight, so cancel acts quickly and the
    client's memory stays flat on an archive of any size."""
    addr = parse_address(address)
    client, close = _connect(addr)
    try:
        if client.dashboard_link:
            notify(f"dask dashboard: {client.dashboard_link}")
        key_hex = _key_transport(client, addr, setup.key_file, fingerprint)
        setup = replace(setup, key_file=os.path.abspath(setup.key_file), out_root=os.path.abspath(setup.out_root))
        yield from _submit(client, tasks, setup, key_hex, cancel)
    finally:
        close()
        cleanup_temporaries(out_root)  # what a killed worker left behind; outputs are complete


def _submit(client: Client, tasks: list[Task], setup: WorkerSetup, key_hex: str,
            cancel: Callable[[], bool] | None) -> Iterator[FileResult]:
    from distributed import as_completed

    run_id = uuid.uuid4().hex
    setup_f = client.scatter(setup, broadcast=True, hash=False)
    workers = client.scheduler_info().get("workers", {})
    limit = 2 * max(1, len(workers))
    # units that run the pixel method go to workers that declare a GPU resource, when there are any
    gpu = setup.pixel_request is not None and any(w.get("resources", {}).get("GPU") for w in workers.values())
    resources = {"GPU": 1} if gpu else None
    units = _units(tasks, unit_size(setup))
    held: dict[str, list[Task]] = {}
    alone: list[list[Task]] = []  # the files of a unit that kept killing workers, one at a time

    def submit_next(ac: object) -> bool:
        unit = alone.pop() if alone else next(units, None)
        if unit is None or (cancel is not None and cancel()):
            return False
        # absolute paths travel (a worker's working folder is its own); results come back as planned
        sent = [replace(t, path=os.path.abspath(t.path)) for t in unit]
        fut = client.submit(run_unit, run_id, setup_f, key_hex, sent, pure=False, resources=resources)
        held[fut.key] = unit
        ac.add(fut)  # type: ignore[attr-defined]
        return True

    ac = as_completed()
    for _ in range(limit):
        if not submit_next(ac):
            break
    for fut in ac:
        unit = held.pop(fut.key)
        try:
            results = fut.result()
        except Exception as exc:  # noqa: BLE001 - KilledWorker and the like: find the file at fault
            if len(unit) > 1:
                alone.extend([t] for t in unit)
                results = []
            else:
                results = [_lost(unit[0], exc)]
        fut.release()
        back = {os.path.abspath(t.path): t.path for t in unit}  # results may come in another order
        for res in results:
            res.path = back.get(res.path, res.path)
        yield from results
        submit_next(ac)


def overhead_per_unit(client: Client, n: int = 200) -> float:
    """Seconds the scheduler round trip costs one unit (an empty task), for the benchmark."""
    t0 = time.perf_counter()
    futs = [client.submit(os.getpid, pure=False) for _ in range(n)]
    client.gather(futs)
    return (time.perf_counter() - t0) / n

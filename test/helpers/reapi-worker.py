"""A remote-execution worker for BuildGrid (test helper; run with the BuildGrid venv's python).

BuildGrid 0.4.x ships the server (CAS, action cache, Execution, Bots) but no worker: its workers
are buildbox-worker + buildbox-run-*, C++ tools not packaged for Debian or PyPI. This one speaks
the Remote Workers API (google.devtools.remoteworkers.v1test2 Bots) with BuildGrid's generated
protos: it takes a lease, fetches the Action, its Command and input root from the CAS into a fresh
directory, runs the command in a bubblewrap sandbox whose only file systems are /usr and /etc
(read-only), /proc, /dev, an empty /tmp and that directory (no checkout, no node_modules, no
network, no home),
uploads the declared outputs and reports an ActionResult. Input files are read-only hard links into
the worker's blob cache, as in Bazel's own sandboxes.

    python reapi-worker.py --server 127.0.0.1:PORT --instance main --work-dir DIR --name bot-1

Everything it stores goes under --work-dir, which the secret scans read. Stops on SIGTERM.
"""

import argparse
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as re_pb2
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2_grpc as re_grpc
from buildgrid._protos.google.bytestream import bytestream_pb2, bytestream_pb2_grpc
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import bots_pb2, bots_pb2_grpc
from buildgrid._protos.google.rpc import code_pb2

# BuildGrid refuses requests above 4 MiB: larger blobs go through ByteStream, in chunks.
BATCH_LIMIT = 3 * 1024 * 1024
CHUNK = 1024 * 1024
STOP = False


def on_term(*_):
    global STOP
    STOP = True


def digest_of(data):
    return re_pb2.Digest(hash=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


class Cas:
    def __init__(self, channel, instance):
        self.instance = instance
        self.cas = re_grpc.ContentAddressableStorageStub(channel)
        self.bs = bytestream_pb2_grpc.ByteStreamStub(channel)

    def read(self, digests):
        """{hash: bytes} of the digests (small ones batched, large ones streamed)."""
        out = {}
        small, batch, size = [], [], 0
        for d in digests:
            if d.size_bytes == 0:
                out[d.hash] = b""
            elif d.size_bytes > BATCH_LIMIT:
                name = f"{self.instance}/blobs/{d.hash}/{d.size_bytes}" if self.instance else f"blobs/{d.hash}/{d.size_bytes}"
                out[d.hash] = b"".join(r.data for r in self.bs.Read(bytestream_pb2.ReadRequest(resource_name=name)))
            else:
                if size + d.size_bytes > BATCH_LIMIT:
                    small.append(batch)
                    batch, size = [], 0
                batch.append(d)
                size += d.size_bytes
        if batch:
            small.append(batch)
        for b in small:
            resp = self.cas.BatchReadBlobs(re_pb2.BatchReadBlobsRequest(instance_name=self.instance, digests=b))
            for r in resp.responses:
                if r.status.code != code_pb2.OK:
                    raise RuntimeError(f"CAS read of {r.digest.hash} failed: {r.status.message}")
                out[r.digest.hash] = r.data
        for d in digests:
            got = out.get(d.hash)
            if got is None or hashlib.sha256(got).hexdigest() != d.hash:
                raise RuntimeError(f"CAS returned wrong bytes for {d.hash}")
        return out

    def write(self, blobs):
        """Uploads [(Digest, bytes)]."""
        batch, size = [], 0

        def flush():
            if batch:
                resp = self.cas.BatchUpdateBlobs(re_pb2.BatchUpdateBlobsRequest(instance_name=self.instance, requests=batch))
                for r in resp.responses:
                    if r.status.code != code_pb2.OK:
                        raise RuntimeError(f"CAS write of {r.digest.hash} failed: {r.status.message}")

        for d, data in blobs:
            if d.size_bytes > BATCH_LIMIT:
                name = f"{self.instance}/uploads/{uuid.uuid4()}/blobs/{d.hash}/{d.size_bytes}"

                def chunks(data=data, name=name):
                    for off in range(0, len(data), CHUNK):
                        last = off + CHUNK >= len(data)
                        yield bytestream_pb2.WriteRequest(resource_name=name if off == 0 else "", write_offset=off, finish_write=last, data=data[off : off + CHUNK])

                self.bs.Write(chunks())
                continue
            if size + d.size_bytes > BATCH_LIMIT:
                flush()
                batch.clear()
                size = 0
            batch.append(re_pb2.BatchUpdateBlobsRequest.Request(digest=d, data=data))
            size += d.size_bytes
        flush()


def materialize(cas, root_digest, dest, cache_dir):
    """Writes the input root into dest: read-only hard links into the worker's blob cache."""
    dirs = {}
    for resp in cas.cas.GetTree(re_pb2.GetTreeRequest(instance_name=cas.instance, root_digest=root_digest)):
        for d in resp.directories:
            dirs[digest_of(d.SerializeToString()).hash] = d
    if root_digest.size_bytes == 0:
        dirs[root_digest.hash] = re_pb2.Directory()
    files = []

    def walk(digest, path):
        d = dirs.get(digest.hash)
        if d is None:
            raise RuntimeError(f"input directory {digest.hash} missing from GetTree")
        os.makedirs(path, exist_ok=True)
        for f in d.files:
            files.append((f.digest, os.path.join(path, f.name), f.is_executable))
        for s in d.symlinks:
            os.symlink(s.target, os.path.join(path, s.name))
        for sub in d.directories:
            walk(sub.digest, os.path.join(path, sub.name))

    walk(root_digest, dest)
    cached = lambda d, x: os.path.join(cache_dir, d.hash + (".x" if x else ""))
    wanted = {f[0].hash: f[0] for f in files if not os.path.exists(cached(f[0], f[2]))}
    data = cas.read(list(wanted.values())) if wanted else {}
    for d, path, executable in files:
        c = cached(d, executable)
        if not os.path.exists(c):
            tmp = c + f".tmp-{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(data[d.hash] if d.hash in data else open(cached(d, not executable), "rb").read())
            os.chmod(tmp, 0o555 if executable else 0o444)
            os.replace(tmp, c)
        os.link(c, path)


def sandbox_argv(execroot, workdir, env, argv):
    """bubblewrap: only /usr and /etc (read-only: programs and the user database), /proc, /dev, an
    empty /tmp and the input root."""
    bw = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ["bin", "lib", "lib64", "sbin"]:
        p = "/" + top
        if os.path.islink(p):
            bw += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            bw += ["--ro-bind", p, p]
    bw += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", execroot, "/execroot", "--chdir", os.path.join("/execroot", workdir), "--clearenv"]
    for k, v in env.items():
        bw += ["--setenv", k, v]
    return bw + ["--"] + argv


def output_file(path, rel):
    with open(path, "rb") as fh:
        data = fh.read()
    d = digest_of(data)
    return re_pb2.OutputFile(path=rel, digest=d, is_executable=bool(os.stat(path).st_mode & stat.S_IXUSR)), [(d, data)]


def tree_of(path):
    """(Tree, blobs) of a directory output."""
    blobs = []
    children = []

    def build(p):
        d = re_pb2.Directory()
        for name in sorted(os.listdir(p)):
            full = os.path.join(p, name)
            if os.path.islink(full):
                d.symlinks.add(name=name, target=os.readlink(full))
            elif os.path.isdir(full):
                sub = build(full)
                children.append(sub)
                d.directories.add(name=name, digest=digest_of(sub.SerializeToString()))
            else:
                with open(full, "rb") as fh:
                    data = fh.read()
                dg = digest_of(data)
                blobs.append((dg, data))
                d.files.add(name=name, digest=dg, is_executable=bool(os.stat(full).st_mode & stat.S_IXUSR))
        return d

    root = build(path)
    tree = re_pb2.Tree(root=root, children=children)
    data = tree.SerializeToString()
    td = digest_of(data)
    blobs.append((td, data))
    return td, blobs


def execute(cas, action, scratch, cache_dir, log):
    data = cas.read([action.command_digest])
    command = re_pb2.Command()
    command.ParseFromString(data[action.command_digest.hash])
    execroot = os.path.join(scratch, "execroot")
    materialize(cas, action.input_root_digest, execroot, cache_dir)
    workdir = command.working_directory
    outputs = list(command.output_files) + list(command.output_directories) + list(command.output_paths)
    for rel in outputs:
        os.makedirs(os.path.dirname(os.path.join(execroot, workdir, rel)), exist_ok=True)
    env = {e.name: e.value for e in command.environment_variables}
    timeout = action.timeout.seconds or 600
    t0 = time.time()
    try:
        proc = subprocess.run(sandbox_argv(execroot, workdir, env, list(command.arguments)), capture_output=True, timeout=timeout)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as e:
        code, out, err = 124, e.stdout or b"", (e.stderr or b"") + b"\n[worker: timed out]"
    log.write(f"{time.strftime('%H:%M:%S')} exit {code} in {time.time() - t0:.1f}s: {command.arguments[0] if command.arguments else ''} ({len(command.arguments)} args)\n")
    log.flush()
    result = re_pb2.ActionResult(exit_code=code)
    blobs = []
    for rel in list(command.output_files) + list(command.output_paths):
        p = os.path.join(execroot, workdir, rel)
        if os.path.isfile(p) and not os.path.islink(p):
            f, b = output_file(p, rel)
            result.output_files.append(f)
            blobs += b
        elif os.path.isdir(p) and rel in command.output_paths:
            td, b = tree_of(p)
            result.output_directories.add(path=rel, tree_digest=td)
            blobs += b
    for rel in command.output_directories:
        p = os.path.join(execroot, workdir, rel)
        if os.path.isdir(p):
            td, b = tree_of(p)
            result.output_directories.add(path=rel, tree_digest=td)
            blobs += b
    so, se = digest_of(out), digest_of(err)
    blobs += [(so, out), (se, err)]
    result.stdout_digest.CopyFrom(so)
    result.stderr_digest.CopyFrom(se)
    cas.write(blobs)
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--instance", default="")
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--name", default="bot")
    o = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    cache_dir = os.path.join(o.work_dir, "blobs")
    os.makedirs(cache_dir, exist_ok=True)
    log = open(os.path.join(o.work_dir, f"{o.name}.log"), "a")
    channel = grpc.insecure_channel(o.server, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])
    cas = Cas(channel, o.instance)
    bots = bots_pb2_grpc.BotsStub(channel)
    session = bots.CreateBotSession(
        bots_pb2.CreateBotSessionRequest(parent=o.instance, bot_session=bots_pb2.BotSession(bot_id=o.name, status=bots_pb2.BotStatus.OK)),
        wait_for_ready=True,
        timeout=120,
    )
    log.write(f"session {session.name}\n")
    log.flush()
    n = 0
    done = set()
    while not STOP:
        try:
            session = bots.UpdateBotSession(bots_pb2.UpdateBotSessionRequest(name=session.name, bot_session=session), timeout=30)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                continue
            log.write(f"UpdateBotSession: {e.code()} {e.details()}\n")
            log.flush()
            time.sleep(0.5)
            continue
        # BuildGrid hands leases out ACTIVE already; the protocol also allows PENDING.
        pending = [x.id for x in session.leases if x.state in (bots_pb2.LeaseState.PENDING, bots_pb2.LeaseState.ACTIVE) and x.id not in done]
        for lease_id in pending:
            lease = next((x for x in session.leases if x.id == lease_id), None)
            if lease is None:
                continue
            n += 1
            scratch = os.path.join(o.work_dir, f"{o.name}-{n}")
            done.add(lease_id)
            if lease.state == bots_pb2.LeaseState.PENDING:
                # Accept it first: the scheduler then counts the job as executing.
                lease.state = bots_pb2.LeaseState.ACTIVE
                session = bots.UpdateBotSession(bots_pb2.UpdateBotSessionRequest(name=session.name, bot_session=session), timeout=30)
                lease = next((x for x in session.leases if x.id == lease_id), None)
                if lease is None:
                    continue
            action = re_pb2.Action()
            try:
                if lease.payload.Is(re_pb2.Action.DESCRIPTOR):
                    lease.payload.Unpack(action)
                else:
                    digest = re_pb2.Digest()
                    lease.payload.Unpack(digest)
                    action.ParseFromString(cas.read([digest])[digest.hash])
                result = execute(cas, action, scratch, cache_dir, log)
                lease.result.Pack(result)
                lease.status.code = code_pb2.OK
            except Exception as e:  # the lease fails with the reason; the worker goes on
                log.write(f"lease {lease.id} failed: {e!r}\n")
                log.flush()
                lease.status.code = code_pb2.INTERNAL
                lease.status.message = str(e)[:500]
            lease.state = bots_pb2.LeaseState.COMPLETED
            # Inputs and outputs are in the CAS (which the secret scans read); the execroot goes.
            shutil.rmtree(scratch, ignore_errors=True)
    log.write("stopped\n")
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

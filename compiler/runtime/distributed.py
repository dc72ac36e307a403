"""Master and workers: admission by digest and checks, lost workers, masters that vanish.

Part of the runtime inlined into every generated locustfile (compiler/output/render.py). The lines
above the marker are for linters, editors and tests only: in the generated file the prelude,
the configuration block and the earlier parts define these names.
"""

from compiler.runtime.prelude import *  # noqa: F401,F403
from compiler.runtime.configuration import *  # noqa: F401,F403
from compiler.runtime.model import *  # noqa: F401,F403
from compiler.runtime.options import *  # noqa: F401,F403
from compiler.runtime.secrets import *  # noqa: F401,F403
from compiler.runtime.values import *  # noqa: F401,F403
from compiler.runtime.requests import *  # noqa: F401,F403
from compiler.runtime.answers import *  # noqa: F401,F403
from compiler.runtime.sending import *  # noqa: F401,F403
from compiler.runtime.flows import *  # noqa: F401,F403
from compiler.runtime.load import *  # noqa: F401,F403
from compiler.runtime.iterations import *  # noqa: F401,F403
from compiler.runtime.arrivals import *  # noqa: F401,F403
from compiler.runtime.arrival_figures import *  # noqa: F401,F403
from compiler.runtime.thresholds import *  # noqa: F401,F403
from compiler.runtime.checks import *  # noqa: F401,F403
from compiler.runtime.records import *  # noqa: F401,F403

# ---- the generated file holds what follows ----
# -- master and workers ----------------------------------------------------------------------------

with open(__file__, encoding="utf-8") as this_file:  # what a worker must run: this very file
    SOURCE = this_file.read()
DIGEST = hashlib.sha256(SOURCE.encode("utf-8")).hexdigest()


def edited_by_hand(source):
    """Whether this file's body still matches the compiler-digest its header recorded: an edit
    by hand is run as it is, but said, since the sources no longer describe it."""
    _, found, rest = source.partition("\n# compiler-digest: sha256:")
    recorded, _, body = rest.partition("\n")
    return not found or hashlib.sha256(body.encode("utf-8")).hexdigest() != recorded


EDITED_BY_HAND = edited_by_hand(SOURCE)


def admit_checked_workers(runner):
    """On the master: a worker counts only once it said that it runs this same file and that
    its own checks passed ("simulation_hello"); any other is refused, with the reason on both
    sides. Until then Locust does not see it: no users, no statistics of its mixed in."""
    handle, pending, admitted, sent_away, goodbyes = runner.handle_message, {}, set(), set(), set()
    run.update(
        pending=pending, admitted=admitted, sent_away=sent_away, goodbyes=goodbyes, losses=[]
    )
    send_to_client = runner.server.send_to_client

    def note_sent_away(msg):
        """Workers the master stops or quits itself are not lost when they go."""
        client = runner.clients.get(msg.node_id)
        if msg.type in ("stop", "quit") and (client is None or client.state != "missing"):
            sent_away.add(msg.node_id)
        return send_to_client(msg)

    def gate(client_id, msg):
        if msg.type == "quit" and client_id in admitted:
            goodbyes.add(client_id)  # after its last statistics
        if msg.type == "client_ready" and client_id not in admitted:
            pending[client_id] = (time.monotonic(), msg)  # acknowledged, so that it runs its checks
            runner.send_message(
                "ack", client_id=client_id, data={"index": runner.get_worker_index(client_id)}
            )
        elif msg.type == "quit" and run.get("finished"):  # the master sent it away: no cascade
            if client_id in runner.clients:
                del runner.clients[client_id]
        elif (
            msg.type in ("simulation_hello", "simulation_leaving", "locustfile")
            or client_id in admitted
        ):
            if msg.type == "quit" and client_id in admitted:
                note_lost_worker(client_id, "quit during the run")
                admitted.discard(client_id)
                share_the_schedule(runner)  # the others take its share of the arrivals
            handle(client_id, msg)
        elif msg.type == "quit":
            pending.pop(client_id, None)

    def hello(environment, msg):
        client_id, said = msg.node_id, msg.data
        if client_id not in pending:
            return
        if said.get("check_config"):
            pending.pop(client_id)
            log.info("worker %s ran --check-config and left; it is not part of the run", client_id)
        elif said.get("digest") != DIGEST:
            refuse(
                client_id,
                f"it runs another generated file ({said.get('target')}, digest {str(said.get('digest'))[:12]}), "
                f"not {TARGET} (digest {DIGEST[:12]}): give every worker the master's file (--worker -f -)",
            )
        elif said.get("problems"):
            refuse(client_id, "its own checks failed: " + "; ".join(said["problems"]))
        else:
            _connected, ready = pending.pop(client_id)
            admitted.add(client_id)
            run.setdefault("ever_admitted", set()).add(client_id)
            handle(client_id, ready)  # now Locust counts it
            share_the_schedule(runner)  # a worker that joins the run takes its share

    def leaving(environment, msg):
        run.setdefault("leaving", {})[msg.node_id] = msg.data["reason"]

    def refuse(client_id, reason):
        pending.pop(client_id, None)
        log.error("worker %s refused: %s", client_id, reason)
        runner.send_message("simulation_refused", {"reason": reason}, client_id=client_id)
        # a worker that is not ours quits too
        runner.send_message("quit", None, client_id=client_id)
        if not run.get("started"):
            stop_before_the_run(runner, f"worker {client_id} refused: {reason}")

    def watch():
        while True:
            time.sleep(1)
            for client_id, (connected, _msg) in list(pending.items()):
                if time.monotonic() - connected > HELLO_SECONDS:
                    refuse(
                        client_id,
                        f"it said nothing of its file or checks within {HELLO_SECONDS}s: "
                        "not a file of this compiler, or one from an older compile",
                    )
            for client in runner.clients.all:
                if client.state == "missing" and client.id in admitted:
                    admitted.discard(client.id)
                    note_lost_worker(
                        client.id, f"went silent (no heartbeat for {HEARTBEAT_LIVENESS}s)"
                    )
                    share_the_schedule(runner)

    runner.handle_message = gate
    runner.server.send_to_client = note_sent_away
    quit_now = runner.quit

    def quit_after_goodbyes():  # Locust's own quit waits half a second for the last statistics
        quit_workers(runner)
        quit_now()

    runner.quit = quit_after_goodbyes
    runner.register_message("simulation_hello", hello)
    runner.register_message("simulation_leaving", leaving)
    # A worker that reported ready before this gate stood (a forked one is quick) was counted by
    # Locust unchecked, and its hello was lost: it is taken back, and asked to say hello again.
    for client_id in [client.id for client in runner.clients.all]:
        del runner.clients[client_id]
        pending[client_id] = (time.monotonic(), Message("client_ready", LOCUST_VERSION, client_id))
        runner.send_message("simulation_say_hello", None, client_id=client_id)
    threading.Thread(target=watch, daemon=True).start()  # a greenlet: Locust patched threading


def note_lost_worker(client_id, how):
    """A worker gone while the run is on: the run did not have the load asked for. Workers the
    master itself stopped or sent away do not count."""
    if run.get("started") and client_id not in run["sent_away"]:
        reason = run.get("leaving", {}).get(client_id)
        run["losses"].append((time.monotonic(), client_id, how, reason))
        log.error("worker %s %s%s", client_id, how, f" ({reason})" if reason else "")


def counted_losses():
    """The lost workers that make the run fail. One that stopped on a signal shortly before the
    master did was stopped with it (a Ctrl-C reaches every process of the terminal)."""
    ending = run.get("ending") or time.monotonic()
    return [
        f"worker {client_id} {how}" + (f" ({reason})" if reason else "")
        for at, client_id, how, reason in run.get("losses", [])
        if not (reason and reason.startswith("interrupted") and ending - at < 5)
    ]


def join_as_checked_worker(environment, runner, problems):
    """On a worker: tell the master which file this is and whether its checks passed; stop when
    the master refuses it, or when the master has gone silent."""
    options = environment.parsed_options

    def refused(environment, msg):
        sys.stderr.write(f"{TARGET}: refused by the master: {msg.data['reason']}\n")
        environment.process_exit_code = 2
        runner.quit()

    runner.register_message("simulation_refused", refused)
    said = {
        "digest": DIGEST,
        "target": TARGET,
        "problems": problems,
        "check_config": bool(options.check_config),
    }
    runner.register_message(
        "simulation_say_hello",
        lambda environment, msg: runner.send_message("simulation_hello", said),
    )
    runner.send_message("simulation_hello", said)
    if options.check_config or problems:
        time.sleep(0.5)  # let the message leave before the process does
        if problems:
            sys.stderr.write(
                f"{TARGET}: invalid configuration on this worker, no request sent:\n"
                + "".join(f"  - {problem}\n" for problem in problems)
            )
            sys.exit(2)
        print(f"{TARGET}: configuration ok on this worker, no request sent", flush=True)
        sys.exit(0)
    threading.Thread(
        target=stop_when_master_is_silent, args=(environment, runner), daemon=True
    ).start()


def stop_when_master_is_silent(environment, runner):
    """Locust's worker waits 60s for a master that died (kill -9, a lost machine) and loads
    the target all the while: stop well before."""
    while True:
        time.sleep(1)
        heard = runner.last_heartbeat_timestamp
        if heard and time.time() - heard > MASTER_SILENCE_SECONDS:
            log.error(
                "the master has not answered for %ss: stopping this worker", MASTER_SILENCE_SECONDS
            )
            environment.process_exit_code = 1
            runner.quit()
            return


def stop_with_the_parent():
    """A worker forked by --processes stops when its master is gone, however it went (kill -9,
    or SIGTERM before the run started): Linux sends it SIGTERM then (prctl PR_SET_PDEATHSIG)."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (AttributeError, OSError):  # not Linux: Locust's own 60s heartbeat timeout remains
        return
    if os.getppid() != parent:  # gone already, before the call
        os.kill(os.getpid(), signal.SIGTERM)


os.register_at_fork(after_in_child=stop_with_the_parent)


def stop_before_the_run(runner, reason, code=1):
    """Stop a master that is still waiting for its workers: quit every worker, then exit (its
    forked workers follow it, see stop_with_the_parent)."""
    sys.stderr.write(f"{TARGET}: {reason}; no request sent\n")
    sys.stderr.flush()
    quit_workers(runner, wait=0)
    time.sleep(0.2)  # let the quit messages leave
    os._exit(code)


def quit_workers(runner, wait=3):
    """Tell every worker, counted or not, to quit, and wait (while Locust still listens) for each
    counted one's goodbye, which follows its last statistics. One that says nothing is lost: a
    worker killed just before the end would otherwise pass as sent away, its last seconds
    missing from the report."""
    if not isinstance(runner, MasterRunner) or run.get("workers_quit"):
        return
    run["workers_quit"] = True
    expected = set(run.get("admitted", ())) - {
        client_id for _, client_id, _, _ in run.get("losses", [])
    }
    for client_id in [*run.get("pending", {}), *(client.id for client in runner.clients.all)]:
        runner.send_message("quit", None, client_id=client_id)
    deadline = time.monotonic() + wait
    while expected - run["goodbyes"] and len(runner.greenlet) and time.monotonic() < deadline:
        time.sleep(0.05)
    if run.get("started") and wait:
        for client_id in sorted(expected - run["goodbyes"]):
            run["losses"].append(
                (
                    time.monotonic(),
                    client_id,
                    "did not send its last statistics before the end",
                    None,
                )
            )
            log.error("worker %s did not send its last statistics before the end", client_id)

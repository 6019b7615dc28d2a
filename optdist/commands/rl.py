"""RL sub-command: ``optdist train-rl FILE [--algo dqn|maskable-ppo] --preset lenet [--episodes N | --timesteps N] [--masked] [--double] [--out DIR [--force]]``."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

from optdist.cli import count_flag, option_flag, path_flag
from optdist.interrupts import interrupted_status
from optdist.io import make_output_folder, refuse_overwrite

log = logging.getLogger("optdist")
PRESET_NAMES = ("lenet", "cifar", "vgg", "hetero")  # optdist.rl.presets.PRESETS, without importing torch
MAX_EPISODES = 10_000_000
MAX_TIMESTEPS = 1_000_000_000
#: what train-rl writes into --out, per --algo (the union: every file a run of either may have left there)
WRITES = {"dqn": ("policy.pt", "policy.json", "curves.csv", "curves.png", "checkpoint.pt", "checkpoint.json"),
          "maskable-ppo": ("policy.pt", "policy.json", "checkpoint.pt", "checkpoint.json")}
CHECKPOINT_FILES = ("checkpoint.pt", "checkpoint.json")  # optdist.rl.train.CHECKPOINT_FILES, without importing torch
CHECKPOINT_EVERY = 500
RESUME_NOTE = ("; continue the training (its checkpoint.pt, checkpoint.json are in {out}): the same train-rl command "
               "with --resume (and without --force)")
POLICY_FILES = WRITES["dqn"]

episodes_flag = count_flag("layer episodes", 2000, MAX_EPISODES)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-rl", help="train a DQN (RL-DistPrivacy) or MaskablePPO placement policy on an instance")
    p.add_argument("instance", type=Path)
    p.add_argument("--algo", choices=["dqn", "maskable-ppo"], default="dqn",
                   help="dqn: the paper's agent (hand-written DQN, default); maskable-ppo: sb3-contrib's MaskablePPO, "
                        "always masked (needs pip install 'optdist[rl-baselines]'; place with --method rl-ppo)")
    p.add_argument("--preset", choices=PRESET_NAMES, help="paper hyper-parameters (Tables 4-5); default: by the instance's CNNs")
    p.add_argument("--episodes", action=episodes_flag, metavar="N", help="dqn: layer episodes (default: the preset's)")
    p.add_argument("--timesteps", action=count_flag("env steps", 20000, MAX_TIMESTEPS), metavar="N",
                   help="maskable-ppo: env steps, one per segment (default 20000)")
    p.add_argument("--train-freq", action=count_flag("env steps", 4, 10**6), metavar="N",
                   help="dqn: env steps per gradient step (default: the preset's: lenet, cifar 1, our reading of "
                        "the paper; vgg 16, for the VGG loads' thousands of segments per request; hetero 4; "
                        "policy.json records the value used)")
    p.add_argument("--masked", action="store_true", help="act only on devices in the action mask (not in the paper)")
    p.add_argument("--double", action="store_true", help="double DQN targets (not in the paper)")
    p.add_argument("--reward", choices=["paper", "stage"],
                   help="paper: eq. 11 with sigma, beta (dqn default); stage: minus the stage-time rise and beta "
                        "(not in the paper; maskable-ppo default)")
    p.add_argument("--seed", action=option_flag("seed", "0"), default=0, metavar="N", help="random seed, >= 0 (default 0)")
    p.add_argument("--out", type=Path, action=path_flag("runs/rl/lenet-10x10-tau0.6"),
                   help="folder for policy.pt, policy.json (dqn: also curves.csv, curves.png; default "
                   "runs/rl/<instance>); a folder holding any of them is refused without --force")
    p.add_argument("--force", action="store_true", help="replace the policy files already in --out (and remove an "
                   "earlier run's curves.csv, curves.png that --algo maskable-ppo does not write); with a "
                   "checkpoint there: train afresh instead of --resume (the checkpoint is replaced, or removed "
                   "at the end)")
    p.add_argument("--resume", action="store_true",
                   help="continue the training whose checkpoint (checkpoint.pt, checkpoint.json) is in --out: "
                        "one a signal stopped (Ctrl-C, SIGTERM) or the last one saved every --checkpoint-every "
                        "episodes (maskable-ppo: every rollout; killed, a crash); give the same INSTANCE, --algo, "
                        "--preset, --reward, --masked, --double, --seed, --train-freq (a different one is refused, "
                        "named; --train-freq left out is the preset's); --episodes (--timesteps): default the "
                        "planned ones. For a seed, it ends with the policy an uninterrupted training gets")
    p.add_argument("--checkpoint-every", action=count_flag("layer episodes", 100, MAX_EPISODES), metavar="N",
                   help=f"dqn: save the training's state (networks, optimiser, replay buffer packed, RNGs; its size "
                        f"is said on stderr: a few MB for 70 devices) to checkpoint.pt/json in --out every N episodes "
                        f"(default {CHECKPOINT_EVERY}), and when a signal stops it; removed once the training ends")
    p.set_defaults(func=cmd_train_rl)


def cmd_train_rl(args: argparse.Namespace) -> int:
    from optdist.cli import CliError
    from optdist.commands.core import print_evaluation, warn_defence_ignored
    from optdist.instance import load_instance
    from optdist.result import finalize
    from optdist.rl.presets import PRESETS, preset_for
    from optdist.solvers.base import signals_received

    wrong = [flag for flag, given in (("--episodes", args.episodes), ("--masked", args.masked), ("--double", args.double),
                                         ("--train-freq", args.train_freq is not None),
                                         ("--checkpoint-every", args.checkpoint_every is not None))
             if given] if args.algo == "maskable-ppo" else (["--timesteps"] if args.timesteps else [])
    if wrong:
        other = "dqn" if args.algo == "maskable-ppo" else "maskable-ppo"
        raise CliError(f"{wrong[0]} is an option of --algo {other}, not of {args.algo} (fix: leave it out)")
    if args.resume and args.force:
        raise CliError("--resume and --force together: --resume continues the checkpoint in --out, --force trains "
                       "afresh over it (fix: give one of them: --resume to continue, --force to start again)")
    out_given = args.out
    inst = load_instance(args.instance)
    warn_defence_ignored(args.instance, inst, "optdist train-rl: the policy learns to place without defences")
    preset = PRESETS[args.preset] if args.preset else preset_for(inst)
    if args.preset and preset.name != preset_for(inst).name:
        log.warning("--preset %s: the paper's hyper-parameters for %s requests; %s's CNNs (%s) have the preset %s "
                    "(fix: leave --preset out to use it)", args.preset, args.preset, inst.name,
                    ", ".join(sorted(set(inst.request_cnn))), preset_for(inst).name)
    out = out_given or Path("runs/rl") / inst.name
    if args.resume and not out.exists():
        raise CliError(f"--resume: {'--out ' if out_given else 'the default --out '}{out} does not exist, so it "
                       f"holds no checkpoint to resume: there is nothing to resume (fix: leave out --resume to train afresh, or give the --out DIR that holds "
                       f"the checkpoint)")
    created = [folder for folder in (out, *out.parents) if not folder.exists()]  # deepest first
    make_output_folder(out, "--out")  # before training: a file there, or above it, is refused now, not after it
    saved = False
    try:
        with out_lock(out):
            if not args.resume:
                _refuse_checkpoint(out, args.force)
                refuse_overwrite([out / name for name in POLICY_FILES], args.force, "--out DIR")
            earlier_dqn = _holds_dqn_run(out)  # before training replaces its policy.json
            saved, sol = (_train_ppo if args.algo == "maskable-ppo" else _train_dqn)(args, inst, preset, out)
            if saved and earlier_dqn:
                _remove_stale(out, args.algo)
    finally:
        if not saved:
            _remove_created(created)
    if sol is None:  # stopped by a signal: the policy so far is saved (or nothing was trained); no evaluation
        return interrupted_status(signal.Signals(signals_received()[0]).name)
    sol = finalize(inst, sol)
    print(f"\n# the policy placing {inst.name} online (decisions {sol.extra['decision_ms_mean']:.3g} ms per request, "
          f"{sol.extra['rejected']} rejected)")
    print_evaluation(inst, sol.evaluation, 5)
    return 0


LOCK_NAME = ".train-rl.lock"


def instance_digest(path: Path) -> str:
    """sha256 of the instance file's parsed JSON, canonical (keys sorted, no whitespace): a re-save
    that changes only the spacing or the key order keeps it; any other change of content does not.
    A file that is not JSON (load_instance read it already): its bytes."""
    raw = path.read_bytes()
    try:
        text = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except ValueError:
        return hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def out_lock(out: Path) -> Iterator[None]:
    """Hold ``OUT/.train-rl.lock`` (``flock``, exclusive; the kernel releases it when the process
    ends, even by SIGKILL, so a dead train-rl's lock file is taken over) for the block; the file
    holds the pid and is removed at the end. Another train-rl writing into ``out`` (the same
    command, or a --resume of it): CliError naming its pid and the fix. Without ``fcntl``: none."""
    from optdist.cli import CliError

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    import os

    path = out / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CliError(f"--out {out}: another `optdist train-rl` (pid {holder}, lock {path}) is writing into this "
                           f"folder (fix: wait for it to end, or stop it, then run again (with --resume to continue "
                           f"its checkpoint), or give another --out)") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino  # not a file its holder removed meanwhile
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def _stoppable_training(algo: str, instance: str) -> Iterator[None]:
    """While training runs, SIGINT/SIGTERM end it (the training loops check
    :func:`~optdist.solvers.base.stop_requested`) instead of raising KeyboardInterrupt: the policy
    so far is kept. A second signal aborts (KeyboardInterrupt). Saving and evaluating come after
    the block, where a signal stops the command as usual (the files are written atomically)."""
    from optdist.solvers.base import stop_on_signals

    with stop_on_signals(lambda signum: None, stopping="stopping training after the current "
                         + ("env step" if algo == "maskable-ppo" else "episode") + " and saving the policy trained so far"):
        log.info("training %s on %s (Ctrl-C or SIGTERM ends it and saves the policy trained so far)", algo, instance)
        yield


def _refuse_checkpoint(out: Path, force: bool) -> None:
    """Without --resume: a checkpoint in ``out`` (a training stopped before its end) is refused,
    naming --resume, unless ``force`` (train afresh; the checkpoint is replaced or removed)."""
    from optdist.cli import CliError

    meta, pt = out / CHECKPOINT_FILES[1], out / CHECKPOINT_FILES[0]
    if force or not meta.is_file():
        return
    if not pt.exists():
        raise CliError(f"{meta}: {out} holds an incomplete checkpoint ({pt} is missing), which --resume cannot "
                       f"continue; not overwritten (fix: give --force to train afresh (it is removed), or another "
                       f"--out DIR)")
    try:
        saved = json.loads(meta.read_text())
        done = (f" after {saved['episodes']} of {saved['episodes_planned']} episodes" if "episodes" in saved
                else f" after {saved['env_steps']} of {saved['timesteps_planned']} env steps")
    except (OSError, ValueError, KeyError, TypeError):
        done = ""
    raise CliError(f"{meta}: {out} holds the checkpoint of a train-rl stopped{done}; not overwritten (fix: continue "
                   f"it with --resume and the same settings, or give --force to train afresh, or another --out DIR)")


def _remove_checkpoint(out: Path, why: str = "the training ran to its end") -> None:
    """The training ran to its end: its checkpoint (or an earlier run's, under --force) is stale."""
    gone = [out / name for name in CHECKPOINT_FILES if (out / name).is_file()]
    for path in gone:
        path.unlink()
    if gone:
        log.info("removed %s: %s", ", ".join(map(str, gone)), why)


def _remove_created(created: list[Path]) -> None:
    """Remove the folders train-rl created for ``--out`` (deepest first) that are still empty: a
    training stopped before its first gradient step, or failed, leaves no empty folder behind."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): the folders above it stay too
            return
        log.info("removed the empty folder %s that this run created", folder)


def _interrupted(config: dict, what: str, instance: Path, out: Path, method: str, resume: str = "") -> None:
    """Say on stderr that a signal stopped the training after ``what`` (e.g. "137 of 2000 episodes"),
    where the policy trained so far is, how to place with it and (``resume``) how to go on."""
    log.warning("%s after %s: saved the policy trained so far to %s (policy.json: \"interrupted\": \"%s\"); place "
                "with: optdist solve %s --method %s --policy %s%s", config["interrupted"], what, out, config["interrupted"],
                instance, method, out, resume)


def _nothing_trained(config: dict, what: str, out: Path, fix: str) -> None:
    """Say on stderr that a signal stopped the training before any gradient step: nothing saved."""
    log.warning("%s after %s, before the first gradient step: no policy saved in %s (the network had its initial "
                "weights; fix: %s)", config["interrupted"], what, out, fix)


def _holds_dqn_run(out: Path) -> bool:
    """Whether ``out`` holds a DQN train-rl run: its ``policy.json`` (``format``
    :data:`~optdist.rl.train.POLICY_FORMAT`), so the curves beside it are that run's, not a user's
    files of the same names. An unreadable or other policy.json: False."""
    from optdist.rl.train import POLICY_FORMAT

    try:
        config = json.loads((out / "policy.json").read_text())
    except (OSError, ValueError):  # none there, a folder, not JSON
        return False
    return isinstance(config, dict) and config.get("format") == POLICY_FORMAT


def _remove_stale(out: Path, algo: str) -> None:
    """Remove the files an earlier train-rl left in ``out`` that this run (``algo``) did not rewrite
    (``--force`` over a DQN run's folder with maskable-ppo: its curves.csv, curves.png, which
    figures would read as this policy's); only train-rl's own files (:data:`WRITES`), never others.
    Called, where ``out`` held a DQN run (:func:`_holds_dqn_run`), once the new policy is saved
    (a training that fails leaves the earlier run whole)."""
    stale = [out / name for name in POLICY_FILES if name not in WRITES[algo] and (out / name).is_file()]
    for path in stale:
        path.unlink()
    if stale:
        log.info("removed %s: an earlier run's, not written by --algo %s", ", ".join(map(str, stale)), algo)


def _train_dqn(args: argparse.Namespace, inst, preset, out: Path):
    from optdist.rl.policy import Policy, solve_rl
    from optdist.rl.train import save_policy, train, write_curves

    reward = args.reward or "paper"
    with _stoppable_training(args.algo, inst.name):
        res = train(inst, preset, episodes=args.episodes, masked=args.masked, double=args.double, reward=reward,
                    seed=args.seed, train_freq=args.train_freq, checkpoint=out, resume=args.resume,
                    checkpoint_every=args.checkpoint_every or CHECKPOINT_EVERY,
                    instance_sha256=instance_digest(args.instance), cli=True, progress=not args.quiet)
    stopped = "interrupted" in res.config
    what = f"{res.config['episodes']} of {res.config.get('episodes_planned')} episodes"
    if stopped and not res.config["gradient_steps"]:
        _nothing_trained(res.config, what, out, "let it train longer, or give a smaller --train-freq")
        return False, None
    save_policy(res, out)
    if not res.config["gradient_steps"]:
        cfg = res.agent.cfg
        log.warning("%d env steps took no gradient step (the first needs %d stored transitions, then one every "
                    "--train-freq %d steps): the policy keeps its initial weights; give more --episodes or a smaller "
                    "--train-freq", res.config["env_steps"], max(cfg.learning_starts, cfg.batch_size), cfg.train_freq)
    variant = f"{reward} reward" + (", masked" if args.masked else "") + (", double" if args.double else "")
    if stopped:
        variant += f" ({res.config['interrupted']} after {what})"
    write_curves(res.curves, out, f"{inst.name}: DQN, preset {preset.name}, {variant}")
    tail = res.curves.tail(100)
    print(f"trained {len(res.curves)} episodes ({res.config['gradient_steps']:,} gradient steps) in {res.train_s:.1f} s; "
          f"last 100: return {tail.reward.mean():.4g}, "
          f"latency penalty {tail.latency_penalty_ms.mean():.4g} ms, constraints met {100 * tail.constraints_met.mean():.1f}%")
    print(f"wrote {out}/policy.pt, policy.json, curves.csv, curves.png")
    if stopped:
        _interrupted(res.config, what, args.instance, out, "rl", RESUME_NOTE.format(out=out))
        return True, None
    _remove_checkpoint(out)
    return True, solve_rl(inst, policy=Policy.from_agent(res.agent.q, res.config))


def _train_ppo(args: argparse.Namespace, inst, preset, out: Path):
    from optdist.cli import CliError
    from optdist.rl.ppo import DEFAULT_TIMESTEPS, save_ppo, solve_rl_ppo, train_maskable_ppo

    try:
        with _stoppable_training(args.algo, inst.name):
            policy, train_s = train_maskable_ppo(
                inst, args.timesteps or (None if args.resume else DEFAULT_TIMESTEPS), args.seed,
                reward=args.reward or "stage", preset=preset, checkpoint=out, resume=args.resume,
                instance_sha256=instance_digest(args.instance), cli=True)
    except ImportError as e:
        raise CliError(str(e)) from None
    stopped = "interrupted" in policy.config
    what = f"{policy.config['env_steps']} of {policy.config['timesteps']} env steps"
    if stopped and not policy.config["updates"]:
        _nothing_trained(policy.config, what, out, f"let it train past the first rollout of "
                         f"{policy.config['n_steps']} env steps")
        return False, None
    save_ppo(policy, out)
    steps, asked = policy.config["env_steps"], policy.config["timesteps"]
    rounded = f" (--timesteps {asked} rounded up to whole rollouts of {policy.config['n_steps']})" \
        if steps > asked else ""
    print(f"trained MaskablePPO for {steps} env steps{rounded} in {train_s:.1f} s (preset {preset.name}, "
          f"{policy.config['reward']} reward)")
    if stopped:
        print(f"wrote {out}/policy.pt, policy.json")
        _interrupted(policy.config, what, args.instance, out, "rl-ppo", RESUME_NOTE.format(out=out))
        return True, None
    _remove_checkpoint(out)
    print(f"wrote {out}/policy.pt, policy.json (place with: optdist solve {args.instance} --method rl-ppo --policy {out})")
    return True, solve_rl_ppo(inst, policy=policy)

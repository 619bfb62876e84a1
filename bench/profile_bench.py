"""Print how long profile validation, building and comparison take (numbers only, no asserts).

Why: the grader validates every learner's profile and notebooks rebuild profiles in cells;
these should stay in the millisecond range. The AppArmor host-safety check reads every
submitted profile before anything is loaded: a course profile, and the largest it accepts
(64 KB), one ordinary and one made of nothing but ``{a,b}`` alternations on one line (its
reader once took 89 s on 60 KB of those). Run: ``python bench/profile_bench.py``.
"""
from __future__ import annotations

import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.apparmor import profile_safety_problems, shipped_profile  # noqa: E402
from labs.apparmor.statements import MAX_BYTES  # noqa: E402
from labs.errors import ProfileError  # noqa: E402
from labs.seccomp import (  # noqa: E402
    build_profile,
    compare_with_runtime_default,
    diff_profiles,
    load_profile,
    runtime_default_syscalls,
)
from labs.syscalls import all_syscalls  # noqa: E402

PROFILES = Path(__file__).resolve().parent.parent / "tests" / "data" / "profiles"
ROUNDS = 200


def timed(label: str, action) -> None:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    print(f"{label:48} median {statistics.median(samples):7.3f} ms   max {max(samples):7.3f} ms")


def validate_corpus() -> None:
    for path in sorted((PROFILES / "bad").iterdir()) + sorted((PROFILES / "good").iterdir()):
        with contextlib.suppress(ProfileError):
            load_profile(path)


def main() -> None:
    observed = [n for n in all_syscalls("x86_64") if n in runtime_default_syscalls(unconditional_only=True)]
    big = build_profile(observed)
    small = build_profile(observed[:60])
    print(f"corpus: {len(list((PROFILES / 'bad').iterdir()))} bad + {len(list((PROFILES / 'good').iterdir()))} good "
          f"profiles; big profile allows {len(big['syscalls'][0]['names'])} syscalls")
    timed("validate the whole fixture corpus", validate_corpus)
    timed(f"build_profile from {len(observed)} names", lambda: build_profile(observed))
    timed("load_profile of the big profile", lambda: load_profile(big))
    timed("compare_with_runtime_default (big)", lambda: compare_with_runtime_default(big))
    timed("diff_profiles (small -> big)", lambda: diff_profiles(small, big))
    course = shipped_profile("course-nginx-deny-write").read_text()
    rules = "".join(f"  /srv/app/{i}/** r,\n" for i in range(MAX_BYTES // 24))
    ordinary = f"profile course-big {{\n{rules}}}\n"[:MAX_BYTES - 2] + "\n}\n"
    braces = "profile course-braces {\n  " + "/a{b,c} r, " * ((MAX_BYTES - 40) // 11) + "\n}\n"
    timed("AppArmor safety check, course-nginx-deny-write", lambda: profile_safety_problems(course))
    timed(f"AppArmor safety check, {len(ordinary)} B of rules", lambda: profile_safety_problems(ordinary))
    timed(f"AppArmor safety check, {len(braces)} B of alternations", lambda: profile_safety_problems(braces))


if __name__ == "__main__":
    main()

"""TwoPhase.tla (Lamport) counted by an independent bitmask breadth-first search, written apart from
splitbrain's model and engine: distinct states, states generated (as TLC counts them), depth.

The `twophase-9-fp` bench entry expects the figures `python tests/brute_twophase.py 9` prints
(10,340,352 distinct, 123,558,402 generated, depth 29); tests/test_fpstore.py checks this count
against TLC's for 3 and 6 resource managers.
"""
import sys

def count(n: int) -> tuple[int, int, int]:
    W, P, C, A = 0, 1, 2, 3  # rmState codes
    TM = 2 * n               # tmState bits at TM: 0 init, 1 committed, 2 aborted
    TP = TM + 2              # tmPrepared bits
    PM = TP + n              # Prepared(rm) messages
    CM, AM = PM + n, PM + n + 1  # Commit, Abort messages
    all_prepared = ((1 << n) - 1) << TP
    init = 0
    seen = {init}
    level = [init]
    generated, depth = 1, 1
    while level:
        nxt = []
        for s in level:
            succ = []
            tm = (s >> TM) & 3
            if tm == 0:
                for rm in range(n):  # TMRcvPrepared(rm)
                    if s >> (PM + rm) & 1:
                        succ.append(s | 1 << (TP + rm))
                if s & all_prepared == all_prepared:  # TMCommit
                    succ.append((s & ~(3 << TM)) | 1 << TM | 1 << CM)
                succ.append((s & ~(3 << TM)) | 2 << TM | 1 << AM)  # TMAbort
            for rm in range(n):
                st = (s >> (2 * rm)) & 3
                clear = s & ~(3 << (2 * rm))
                if st == W:
                    succ.append(clear | P << (2 * rm) | 1 << (PM + rm))  # RMPrepare
                    succ.append(clear | A << (2 * rm))  # RMChooseToAbort
                if s >> CM & 1:
                    succ.append(clear | C << (2 * rm))  # RMRcvCommitMsg
                if s >> AM & 1:
                    succ.append(clear | A << (2 * rm))  # RMRcvAbortMsg
            generated += len(succ)
            for t in succ:
                if t not in seen:
                    seen.add(t)
                    nxt.append(t)
        if nxt:
            depth += 1
        level = nxt
    return len(seen), generated, depth

if __name__ == "__main__":
    for n in map(int, sys.argv[1:]):
        print(n, *count(n), flush=True)

"""What the kafka-python check scripts share: a check that stops the script at the first
failure (exit status 1), and a bounded wait for a condition the broker reaches in its own time."""
import sys
import time


def check(ok, what):
    if not ok:
        print("FAILED: " + what)
        sys.exit(1)
    print("ok: " + what)


def wait_for(condition, what, seconds=60, step=0.1):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(step)
    check(False, what + " (within %d s)" % seconds)

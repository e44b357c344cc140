"""Run a script that stalls in the middle of saving a chosen file.

    python tests/stall_in_save.py PATTERN NTH MARKER SCRIPT [ARGS...]

Every writer of the project flushes a file to disk (``os.fsync``) before it
renames it into place. Here the NTH fsync of a file whose name matches the
regular expression PATTERN writes the file's path to MARKER and then waits
forever, so that a test can ``kill -9`` the process at that moment: the new
file is written but not in place, and whatever was to happen next (the
rename, deleting an older checkpoint) has not happened.
"""
import os
import re
import runpy
import sys
import time


def main():
    pattern, nth, marker, script, *args = sys.argv[1:]
    seen = [0]
    fsync = os.fsync

    def stalling_fsync(descriptor):
        name = os.readlink(f'/proc/self/fd/{descriptor}')
        if re.search(pattern, os.path.basename(name)):
            seen[0] += 1
            if seen[0] == int(nth):
                with open(marker, 'w') as file:
                    file.write(name)
                while True:
                    time.sleep(1)
        return fsync(descriptor)

    os.fsync = stalling_fsync
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()

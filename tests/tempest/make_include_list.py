#!/usr/bin/env python3
"""Turn the last tempest run into tests/tempest/include-identity.txt.

Writes one anchored regex per passing tempest.api.identity test, sorted:

    ^tempest\\.api\\.identity\\.admin\\.v3\\.test_domains\\.DomainsTestJSON\\.test_create_update_delete_domain(\\[|$)

Usage:
    make_include_list.py                 # last run in tests/tempest/work
    make_include_list.py --stream FILE   # a saved subunit v2 stream
    make_include_list.py -o OTHER.txt
    make_include_list.py --merge         # union with the current list

Typical flow: ``run.sh --full`` then ``make_include_list.py`` and review the
diff of include-identity.txt before committing it.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import results  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--workspace',
                   default=os.path.join(HERE, 'work', 'workspace'),
                   help='tempest workspace holding the .stestr repository')
    p.add_argument('--stream', help='subunit v2 file instead of stestr last')
    p.add_argument('-o', '--output',
                   default=os.path.join(HERE, 'include-identity.txt'))
    p.add_argument('--merge', action='store_true',
                   help='keep the entries already in the output file (union): '
                        'a flaky failure then does not drop a test')
    args = p.parse_args(argv)

    stream = args.stream
    tmp = None
    if not stream:
        stestr = os.path.join(os.path.dirname(sys.executable), 'stestr')
        if not os.path.exists(stestr):
            stestr = 'stestr'
        tmp = tempfile.NamedTemporaryFile(suffix='.subunit', delete=False)
        try:
            # exit status is non-zero when the last run had failures: ignore
            subprocess.run([stestr, 'last', '--subunit'], cwd=args.workspace,
                           stdout=tmp)
        finally:
            tmp.close()
        stream = tmp.name
        if os.path.getsize(stream) == 0:
            os.unlink(stream)
            raise SystemExit('no results from "stestr last" in %s'
                             % args.workspace)
    try:
        if not args.merge:
            return results.main(['include-list', stream, '-o', args.output])
        old = set()
        if os.path.exists(args.output):
            with open(args.output) as f:
                old = {ln.strip() for ln in f
                       if ln.strip() and not ln.startswith('#')}
        new = set(results.passing_regexes(results.load(stream)))
        with open(args.output, 'w') as f:
            f.write(''.join(r + '\n' for r in sorted(old | new)))
        print('wrote %d test regexes to %s (%d new, %d kept from before)'
              % (len(old | new), args.output, len(new - old), len(old - new)))
        return 0
    finally:
        if tmp:
            os.unlink(tmp.name)


if __name__ == '__main__':
    sys.exit(main())

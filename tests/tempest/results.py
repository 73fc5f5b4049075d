#!/usr/bin/env python3
"""Read a tempest/stestr subunit v2 stream and summarise it.

    results.py summary  STREAM [--include-list FILE] [--report FILE]
        prints "tempest <area>: N passed, N failed, N skipped" per area
        (identity, image, compute, network) and exits 1
        if a failed test (or a failed setUpClass/tearDownClass of its class)
        is selected by the include list (without --include-list: any failure).
    results.py include-list STREAM [-o FILE]
        writes the anchored regexes of all passing tests, sorted.

STREAM is a file or '-' (stdin), e.g. ``stestr last --subunit``.
"""

import argparse
import re
import sys

import subunit
import testtools

IDENTITY_PREFIX = 'tempest.api.identity.'
# Per-area summary lines, in this order.
AREAS = ['identity', 'image', 'compute', 'network', 'object_storage']
_ATTR_RE = re.compile(r'\[.*\]$')
# "setUpClass (tempest.api.identity.x.y.Class)"
_FIXTURE_RE = re.compile(r'^(setUpClass|tearDownClass|setUpModule|'
                         r'tearDownModule) \((?P<target>[^)]+)\)$')


def strip_attrs(test_id):
    return _ATTR_RE.sub('', test_id)


def load(stream_path):
    """Return {test_id: {'status':..., 'details': str}} (last status wins)."""
    if stream_path == '-':
        data = sys.stdin.buffer
    else:
        data = open(stream_path, 'rb')
    results = {}

    def on_test(test):
        details = []
        for name, content in (test.get('details') or {}).items():
            try:
                text = content.as_text()
            except Exception:  # binary attachment
                continue
            if name in ('traceback', 'reason') or 'log' not in name:
                details.append('%s:\n%s' % (name, text))
        results[test['id']] = {'status': test['status'],
                               'details': '\n'.join(details),
                               'tags': test.get('tags') or set()}

    case = subunit.ByteStreamToStreamResult(data, non_subunit_name='stdout')
    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    try:
        case.run(result)
    finally:
        result.stopTestRun()
        if data is not sys.stdin.buffer:
            data.close()
    return results


_EXC_RE = re.compile(r'^([A-Za-z_]\w*\.)*[A-Za-z_]\w*: ')


def last_line(details, width=300):
    """The most telling line of a traceback: the final exception (+Details)."""
    lines = [ln.strip() for ln in details.splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i]
        if _EXC_RE.match(ln) and not ln.startswith(('Details:', 'traceback:',
                                                    'reason:')):
            if i + 1 < len(lines) and lines[i + 1].startswith('Details:'):
                ln = ln + ' ' + lines[i + 1]
            return ln[:width]
    return (lines[-1] if lines else '')[:width]


def classify(status):
    if status in ('success', 'xfail'):
        return 'passed'
    if status == 'skip':
        return 'skipped'
    if status in ('fail', 'uxsuccess'):
        return 'failed'
    return None  # exists / inprogress / unknown: not a result


def counts(results, test_list=None):
    """Count per test.  A failed/skipped setUpClass is reported by stestr as
    one entry; with test_list (ids that were selected) it counts as all the
    tests of its class that have no result of their own."""
    c = {'passed': 0, 'failed': 0, 'skipped': 0}
    seen = {strip_attrs(t) for t in results}
    for t, r in results.items():
        k = classify(r['status'])
        if not k:
            continue
        m = _FIXTURE_RE.match(t)
        if m and test_list is not None:
            probe = m.group('target') + '.'
            n = sum(1 for x in test_list
                    if x.startswith(probe) and x not in seen)
            c[k] += n
        else:
            c[k] += 1
    return c


def read_test_list(path):
    with open(path) as f:
        return {strip_attrs(ln.strip()) for ln in f
                if ln.strip().startswith('tempest.')}


def regex_for(test_id):
    return '^' + re.escape(strip_attrs(test_id)) + r'(\[|$)'


def read_include_list(path):
    pats = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                pats.append(re.compile(line))
    return pats


def selected(test_id, patterns):
    """Is a test (or a class/module fixture) covered by the include list?"""
    if patterns is None:
        return True
    m = _FIXTURE_RE.match(test_id)
    if m:
        # A failed setUpClass fails every test of that class: it matters if
        # any include-list pattern could match a test inside the target.
        target = m.group('target')
        probe = target + '.'
        for p in patterns:
            src = p.pattern.lstrip('^').replace('\\.', '.')
            if src.startswith(probe) or p.match(probe):
                return True
        return False
    return any(p.search(test_id) for p in patterns)


def cmd_summary(args):
    results = load(args.stream)
    test_list = read_test_list(args.test_list) if args.test_list else None
    for area in AREAS:
        prefix = 'tempest.api.%s.' % area

        def mine(t, prefix=prefix):
            m = _FIXTURE_RE.match(t)
            return (m.group('target') if m else t).startswith(prefix)
        sub = {t: r for t, r in results.items() if mine(t)}
        if not sub:
            continue
        c = counts(sub, {t for t in test_list if t.startswith(prefix)}
                   if test_list is not None else None)
        print('tempest %s: %d passed, %d failed, %d skipped'
              % (area, c['passed'], c['failed'], c['skipped']))
    patterns = (read_include_list(args.include_list)
                if args.include_list else None)
    failed = sorted(t for t, r in results.items()
                    if classify(r['status']) == 'failed')
    bad = [t for t in failed if selected(t, patterns)]
    if args.report:
        with open(args.report, 'w') as f:
            for t in failed:
                mark = ' [IN INCLUDE LIST]' if (
                    patterns is not None and t in bad) else ''
                f.write('=' * 70 + '\nFAIL: %s%s\n' % (t, mark))
                f.write(results[t]['details'].rstrip() + '\n')
            skipped = sorted(t for t, r in results.items()
                             if r['status'] == 'skip')
            for t in skipped:
                reason = results[t]['details'].strip().replace('\n', ' ')
                f.write('SKIP: %s  %s\n' % (t, reason[:200]))
    if failed:
        print('failed tests:')
        for t in failed:
            mark = '  [REGRESSION: in include list]' if (
                patterns is not None and t in bad) else ''
            print('  %s%s\n      %s' % (strip_attrs(t), mark,
                                         last_line(results[t]['details'])))
    if patterns is not None and not results:
        print('no test results found')
        return 1
    return 1 if bad else 0


def passing_regexes(results, prefix=IDENTITY_PREFIX):
    return sorted({regex_for(t) for t, r in results.items()
                   if classify(r['status']) == 'passed'
                   and not _FIXTURE_RE.match(t)
                   and t.startswith(prefix)})


def cmd_include_list(args):
    results = load(args.stream)
    passing = passing_regexes(results, args.prefix)
    text = ''.join(p + '\n' for p in passing)
    if args.output == '-':
        sys.stdout.write(text)
    else:
        with open(args.output, 'w') as f:
            f.write(text)
        print('wrote %d test regexes to %s' % (len(passing), args.output))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('summary')
    s.add_argument('stream')
    s.add_argument('--include-list')
    s.add_argument('--report', help='write failure tracebacks/skip reasons')
    s.add_argument('--test-list', help='selected test ids (tempest run '
                   '--list-tests) to count class-level failures/skips per '
                   'test')
    s.set_defaults(func=cmd_summary)
    i = sub.add_parser('include-list')
    i.add_argument('stream')
    i.add_argument('-o', '--output', default='-')
    i.add_argument('--prefix', default=IDENTITY_PREFIX)
    i.set_defaults(func=cmd_include_list)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())

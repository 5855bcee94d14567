#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The demo's report: turns what scripts/demo recorded during a call into the
# summary a person reads (who called whom, cipher, fingerprints and SAS,
# latency, loss, concealment, and whether each side heard the other, measured
# from the audio each side played), WAV files of the received audio, and a PNG
# of sent vs received waveforms and latency over the call.
#
# usage: demo-report.py WORKDIR OUTDIR [--real-audio] [--tone USER=HZ ...]
# WORKDIR holds (written by scripts/demo):
#   USER/out.raw        what USER's daemon played (raw S16LE mono 48 kHz)
#   USER/sent.raw       what USER's daemon captured (the test tone or the microphone)
#   samples.jsonl       {"t": unix seconds, "alice": status, "bob": status} every ~200 ms
#   USER-final.json     USER's `voicectl --json status` just before the hangup
#   bob-monitor.jsonl   `voicectl --json monitor` on bob's bus (the incoming-call event)
#   USER.log            USER's daemon log (the SAS each side computed)
# Exits 0 when each side heard the other, 1 when not, 2 on bad input.
import argparse
import json
import os
import re
import sys
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'e2e'))
import analyze_tone  # noqa: E402  (path set just above)

RATE = analyze_tone.RATE
CALLER, CALLEE = 'alice', 'bob'
USERS = (CALLER, CALLEE)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_jsonl(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by the sampler being stopped
    except OSError:
        pass
    return rows


def log_sas(path):
    """The SAS a daemon logged when the end-to-end keys were agreed, or None."""
    try:
        with open(path, errors='replace') as f:
            found = re.findall(r'end-to-end keys agreed with .*, SAS ([^)\s]+)\)', f.read())
    except OSError:
        return None
    return found[-1] if found else None


def write_wav(path, raw_path):
    data = b''
    if os.path.exists(raw_path):
        with open(raw_path, 'rb') as f:
            data = f.read()
    data = data[:len(data) // 2 * 2]
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)
    return len(data) // 2


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def heard(received, sent_tone, own_tone):
    """What one side heard of the other, measured from what it played."""
    result = {'samples': len(received), 'seconds': round(len(received) / RATE, 2)}
    loud = sum(1 for _ in analyze_tone.loud_blocks(received))
    result['sound_seconds'] = loud / 10.0
    result['dominant_hz'] = analyze_tone.dominant_frequency(received)
    if sent_tone is not None:
        _, good = analyze_tone.tone_blocks(received, sent_tone, own_tone or sent_tone * 2)
        result['tone_seconds'] = good / 10.0
        dom = result['dominant_hz']
        result['heard'] = good >= 10 and dom is not None and abs(dom - sent_tone) <= 5
        result['how'] = ('%g Hz tone detected for %.1f s (dominant %s Hz)'
                         % (sent_tone, good / 10.0, fmt(dom, '%.0f')))
    else:
        # A live microphone: no known signal, so "heard" means sound arrived.
        result['heard'] = loud >= 5
        result['how'] = ('%.1f s of sound above the noise floor (dominant %s Hz)'
                         % (loud / 10.0, fmt(result['dominant_hz'], '%.0f')))
    return result


def fmt(value, form='%.1f', none='n/a'):
    return none if value is None else form % value


def plot(path, sent, received, tones, series, t0):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(3, 1, figsize=(10, 9))
    window = RATE * 30 // 1000  # 30 ms: a few periods of each tone
    for ax, (src, dst) in zip(axes, ((CALLER, CALLEE), (CALLEE, CALLER))):
        rx = np.asarray(received[dst], dtype=np.float64)
        tx = np.asarray(sent[src], dtype=np.float64)
        ax.set_title('%s sent (%s) vs %s received' % (src, tones.get(src) and '%g Hz' % tones[src]
                                                       or 'microphone', dst))
        ax.set_xlabel('ms')
        ax.set_ylabel('sample')
        loud = np.flatnonzero(np.abs(rx) > 1000)
        if len(loud) == 0 or len(tx) < window:
            ax.text(0.5, 0.5, 'nothing received', transform=ax.transAxes, ha='center')
            continue
        mid = min(int(np.median(loud)), len(rx) - window)
        rseg = rx[mid:mid + window]
        # Align the sent signal to the received excerpt (cross-correlation
        # over the first seconds of what was sent) so the two overlay.
        search = tx[:min(len(tx), RATE * 4)]
        if len(search) > window:
            n = 1 << (len(search) + window).bit_length()
            corr = np.fft.irfft(np.fft.rfft(search, n) * np.conj(np.fft.rfft(rseg, n)), n)
            off = int(np.argmax(corr[:len(search) - window]))
        else:
            off = 0
        tseg = tx[off:off + window]
        ms = np.arange(window) * 1000.0 / RATE
        ax.plot(ms[:len(tseg)], tseg, label='sent by %s' % src, lw=1.2)
        ax.plot(ms, rseg, label='played at %s' % dst, lw=1.0, alpha=0.8)
        ax.legend(loc='upper right')
    ax = axes[2]
    ax.set_title('one-way latency during the call (voicectl status every ~200 ms; voiced updates it each second)')
    ax.set_xlabel('s since the call started')
    ax.set_ylabel('ms')
    for u in USERS:
        pts = series[u]
        if pts:
            ax.plot([t - t0 for t, _ in pts], [v for _, v in pts], marker='.', label='%s receives' % u)
    ax.legend(loc='upper right')
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('work')
    ap.add_argument('out')
    ap.add_argument('--real-audio', action='store_true')
    ap.add_argument('--tone', action='append', default=[], help='USER=HZ: the test tone USER sent')
    a = ap.parse_args()
    tones = {}
    for t in a.tone:
        u, _, hz = t.partition('=')
        tones[u] = float(hz)
    os.makedirs(a.out, exist_ok=True)

    received, sent = {}, {}
    for u in USERS:
        raw = os.path.join(a.work, u, 'out.raw')
        write_wav(os.path.join(a.out, '%s-heard.wav' % u), raw)
        received[u] = analyze_tone.load_raw(raw) if os.path.exists(raw) else ()
        sraw = os.path.join(a.work, u, 'sent.raw')
        sent[u] = analyze_tone.load_raw(sraw) if os.path.exists(sraw) else ()

    final = {u: read_json(os.path.join(a.work, '%s-final.json' % u), {}) for u in USERS}
    stats = {u: final[u].get('stats') or {} for u in USERS}
    incoming = next((e for e in read_jsonl(os.path.join(a.work, 'bob-monitor.jsonl'))
                     if e.get('event') == 'incoming-call'), {})

    # Latency over the call, from the ~200 ms samples taken while in a call.
    series = {u: [] for u in USERS}
    for row in read_jsonl(os.path.join(a.work, 'samples.jsonl')):
        for u in USERS:
            s = row.get(u) or {}
            lat = (s.get('stats') or {}).get('latency_ms')
            if s.get('state') == 'in-call' and isinstance(lat, (int, float)) and lat > 0:
                series[u].append((row['t'], float(lat)))
    starts = [pts[0][0] for pts in series.values() if pts]
    t0 = min(starts) if starts else 0.0

    # The SAS: from the IncomingCall signal when the daemon knows it then,
    # else as each side logged it; both sides must have the same one.
    sas = {u: log_sas(os.path.join(a.work, '%s.log' % u)) for u in USERS}
    if incoming.get('sas'):
        sas[CALLEE] = incoming['sas']
    result = {'caller': CALLER, 'callee': CALLEE, 'mode': 'real-audio' if a.real_audio else 'test-tones',
              'sas': sas[CALLER] if sas[CALLER] == sas[CALLEE] else None, 'sas_by_user': sas,
              'peer_fingerprint_seen_by_callee': incoming.get('fingerprint'), 'users': {}}
    for u in USERS:
        peer = CALLEE if u == CALLER else CALLER
        lats = [v for _, v in series[u]]
        h = heard(received[u], tones.get(peer), tones.get(u))
        result['users'][u] = {
            'fingerprint': final[u].get('fingerprint'),
            'cipher': stats[u].get('cipher'),
            'codec': stats[u].get('codec'),
            'duration_s': stats[u].get('duration_s'),
            'latency_ms_p50': percentile(lats, 50),
            'latency_ms_p99': percentile(lats, 99),
            'latency_ms_now': stats[u].get('latency_ms'),
            'latency_samples': len(lats),
            'jitter_ms': stats[u].get('jitter_ms'),
            'loss_percent': stats[u].get('loss_percent'),
            'concealed_frames': stats[u].get('concealed_frames'),
            'heard_peer': h,
        }
    both = all(result['users'][u]['heard_peer']['heard'] for u in USERS)
    result['both_heard'] = both

    png = os.path.join(a.out, 'demo.png')
    try:
        plot(png, sent, received, tones, series, t0)
        result['picture'] = png
    except ImportError as e:
        result['picture'] = None
        print('demo: no picture (%s; the package python3-matplotlib draws it)' % e, file=sys.stderr)

    ua, ub = result['users'][CALLER], result['users'][CALLEE]
    lines = [
        '',
        '== voiced demo: %s called %s (%s) ==' % (CALLER, CALLEE, result['mode']),
        'call          %s s, codec %s, cipher %s' % (fmt(ua['duration_s'], '%s'), ua['codec'] or 'n/a',
                                                    ua['cipher'] or 'n/a'),
        'fingerprints  %s %s%s' % (CALLER, ua['fingerprint'] or 'n/a',
                                   '' if not incoming.get('fingerprint') else
                                   ' (bob was shown the same)' if incoming['fingerprint'] == ua['fingerprint']
                                   else ' (bob was shown %s!)' % incoming['fingerprint']),
        '              %s %s' % (CALLEE, ub['fingerprint'] or 'n/a'),
        'SAS           %s' % (('%s on both sides (what they would read aloud)' % result['sas'])
                              if result['sas'] else 'MISMATCH or unknown: %s' % sas),
    ]
    for u in USERS:
        x = result['users'][u]
        peer = CALLEE if u == CALLER else CALLER
        lines.append('%-5s recv    latency p50 %s ms, p99 %s ms (%d samples), at the end %s ms; jitter %s ms, '
                     'loss %s %%, concealed %s frames'
                     % (u, fmt(x['latency_ms_p50']), fmt(x['latency_ms_p99']), x['latency_samples'],
                        fmt(x['latency_ms_now']),
                        fmt(x['jitter_ms']), fmt(x['loss_percent']), fmt(x['concealed_frames'], '%s')))
        lines.append('%-5s heard %s: %s, from %s' % (u, peer, 'YES' if x['heard_peer']['heard'] else 'NO',
                                                  x['heard_peer']['how']))
    lines.append('both heard each other: %s' % ('yes' if both else 'NO'))
    lines.append('files         %s' % ', '.join(os.path.join(a.out, f) for f in
                                               ('alice-heard.wav', 'bob-heard.wav', 'demo.png',
                                                'summary.json') if f != 'demo.png' or result['picture']))
    text = '\n'.join(lines) + '\n'
    print(text, end='')
    with open(os.path.join(a.out, 'summary.txt'), 'w') as f:
        f.write(text)
    with open(os.path.join(a.out, 'summary.json'), 'w') as f:
        json.dump(result, f, indent=2)
    return 0 if both else 1


if __name__ == '__main__':
    sys.exit(main())

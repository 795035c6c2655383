// xterm.js over the terminal subresource (v5.channel.k8s.io): keys go out on channel 0, the screen comes
// on channel 1, sizes go on channel 4, the exit Status on channel 3. Loaded lazily by the Terminal tab.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { RUNTIME } from './lib/api';
import * as ch from './lib/channel';
import { nsPath } from './lib/project';
import type { Status } from './lib/types';

export interface TerminalEvents {
  onOpen: () => void;
  /** How the session ended; error when it did not end with the shell's exit. */
  onEnd: (text: string, error: boolean) => void;
}

/** Opens the terminal of sandbox ns/name into el; returns what closes it. */
export function openTerminal(el: HTMLElement, ns: string, name: string, ev: TerminalEvents): () => void {
  const term = new Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000, screenReaderMode: false });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  // Ctrl+] leaves the terminal for the page (every other key, Tab included, goes to the shell)
  term.attachCustomKeyEventHandler((e) => {
    if (e.type === 'keydown' && e.ctrlKey && e.key === ']') {
      document.getElementById('tab-terminal')?.focus();
      return false;
    }
    return true;
  });
  fit.fit();
  const ws = new WebSocket(ch.wsUrl(nsPath(RUNTIME, ns, 'sandboxes', name, 'terminal')), [ch.PROTOCOL]);
  ws.binaryType = 'arraybuffer';
  const send = (frame: Uint8Array) => ws.readyState === WebSocket.OPEN && ws.send(frame);
  let status: Status | undefined;
  let closedByUs = false;
  const decoder = new TextDecoder();
  ws.onopen = () => {
    send(ch.resizeFrame(term.cols, term.rows));
    term.focus();
    ev.onOpen();
  };
  ws.onmessage = (m) => {
    if (!(m.data instanceof ArrayBuffer)) return;
    const f = ch.decodeFrame(m.data);
    if (!f) return;
    if (f.channel === ch.ERROR) {
      try {
        status = JSON.parse(decoder.decode(f.data)) as Status;
      } catch {
        status = { status: 'Failure', message: 'the status channel sent what is not JSON' };
      }
    } else if (f.channel === ch.STDOUT || f.channel === ch.STDERR) term.write(f.data);
  };
  ws.onclose = (e) => {
    if (closedByUs) return;
    if (status) {
      const r = ch.exitCodeFromStatus(status);
      if ('exitCode' in r) ev.onEnd(`the shell exited with code ${r.exitCode}`, false);
      else ev.onEnd(r.error.message ?? 'the session failed', true);
    } else ev.onEnd(e.reason || (e.code === 1006 ? 'the connection was refused or dropped (is your role allowed sandboxes/terminal?)' : `closed (${e.code})`), true);
  };
  const input = term.onData((d) => send(ch.encodeFrame(ch.STDIN, d)));
  const binary = term.onBinary((d) => send(ch.encodeFrame(ch.STDIN, Uint8Array.from(d, (c) => c.charCodeAt(0) & 255))));
  const resized = term.onResize(({ cols, rows }) => send(ch.resizeFrame(cols, rows)));
  const ro = new ResizeObserver(() => {
    try {
      fit.fit();
    } catch {
      // not laid out yet
    }
  });
  ro.observe(el);
  return () => {
    closedByUs = true;
    ro.disconnect();
    input.dispose();
    binary.dispose();
    resized.dispose();
    ws.close(1000);
    term.dispose();
  };
}

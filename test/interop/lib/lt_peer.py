#!/usr/bin/python3
"""libtorrent peer for the interop tests (run with /usr/bin/python3, needs python3-libtorrent).

Seeds or downloads one torrent (a .torrent file, or --magnet URI) on 127.0.0.1 with DHT, LSD, UPnP, NAT-PMP, uTP and PEX switched off.
Prints its state as JSON lines on stdout:
  {"event":"listening","port":N,"info_hash":hex40|null,"info_hash_v2":hex64|null}  {"event":"seeding"}  {"event":"finished"}  {"event":"status",...}
  {"event":"peer_connect"|"peer_disconnect"|"peer_error"|"error"|"alert", ...}
Reads JSON commands on stdin, one a line:
  {"cmd":"connect","host":"127.0.0.1","port":N}   handle.connect_peer
  {"cmd":"settings","settings":{...}}             session.apply_settings
  {"cmd":"local_class","upload_limit":N,"ignore_unchoke_slots":bool}  the loopback peer class
  {"cmd":"status"}                                 prints a status line
  {"cmd":"quit"}

Fast extension (BEP 6): libtorrent 2.0 always sets the fast bit in its handshake (bt_peer_connection.cpp
write_handshake, unconditional) and has no settings_pack entry for it, so it cannot be switched off
here; --no-fast exits with an error. Tests switch fast off from our side (handshake without the bit).
"""
import argparse
import json
import os
import sys
import threading
import time

try:
    import libtorrent as lt
except ImportError:
    print(json.dumps({"event": "fatal", "error": "python3-libtorrent is not installed (apt-get install python3-libtorrent)"}), flush=True)
    sys.exit(3)

out_lock = threading.Lock()


def emit(event, **kw):
    kw["event"] = event
    with out_lock:
        sys.stdout.write(json.dumps(kw) + "\n")
        sys.stdout.flush()


ENC_POLICY = {"forced": 0, "enabled": 1, "disabled": 2}
ENC_LEVEL = {"plaintext": 1, "rc4": 2, "both": 3}


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--torrent", help=".torrent file")
    src.add_argument("--magnet", help="magnet URI instead of a .torrent: the info dict comes from peers (ut_metadata)")
    ap.add_argument("--dir", required=True, help="save path (data for seeding / target for downloading)")
    ap.add_argument("--mode", choices=["seed", "download"], required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--connect", action="append", default=[], help="host:port to dial (connect_peer)")
    ap.add_argument("--out-enc-policy", choices=list(ENC_POLICY), default="disabled")
    ap.add_argument("--in-enc-policy", choices=list(ENC_POLICY), default="enabled")
    ap.add_argument("--enc-level", choices=list(ENC_LEVEL), default="both")
    ap.add_argument("--prefer-rc4", action="store_true")
    ap.add_argument("--no-fast", action="store_true", help="not possible with libtorrent 2.0; exits with an error")
    ap.add_argument("--upload-limit", type=int, default=0, help="bytes/s for loopback peers, 0 = unlimited")
    ap.add_argument("--unchoke-interval", type=int, default=None)
    ap.add_argument("--seed-mode", action="store_true", help="skip the hash check when seeding")
    ap.add_argument("--status-interval", type=float, default=0)
    ap.add_argument("--keep-redundant-connections", action="store_true",
                    help="close_redundant_connections off: stay connected to seeds after finishing")
    args = ap.parse_args()

    if args.no_fast:
        emit("fatal", error="libtorrent 2.0 always advertises the fast extension; it has no setting to disable it")
        sys.exit(2)

    settings = {
        "listen_interfaces": "127.0.0.1:%d" % args.port,
        "outgoing_interfaces": "",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_tcp": True,
        "enable_incoming_tcp": True,
        "allow_multiple_connections_per_ip": True,
        "out_enc_policy": ENC_POLICY[args.out_enc_policy],
        "in_enc_policy": ENC_POLICY[args.in_enc_policy],
        "allowed_enc_level": ENC_LEVEL[args.enc_level],
        "prefer_rc4": args.prefer_rc4,
        "user_agent": "lt-interop/" + lt.__version__,
        "alert_mask": int(lt.alert.category_t.error_notification | lt.alert.category_t.status_notification
                          | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification
                          | lt.alert.category_t.storage_notification),
        "announce_to_all_trackers": False,
        "peer_connect_timeout": 5,
    }
    if args.keep_redundant_connections:
        settings["close_redundant_connections"] = False
    if args.unchoke_interval is not None:
        settings["unchoke_interval"] = args.unchoke_interval

    # flags=0: no default plugins (so no ut_pex); add ut_metadata and smart_ban by hand
    ses = lt.session(settings, 0)
    ses.add_extension("ut_metadata")
    ses.add_extension("smart_ban")

    if args.upload_limit:
        set_local_class(ses, {"upload_limit": args.upload_limit})

    if args.magnet:
        ti = None
        params = lt.parse_magnet_uri(args.magnet)
    else:
        ti = lt.torrent_info(args.torrent)
        params = lt.add_torrent_params()
        params.ti = ti
    params.save_path = args.dir
    flags = params.flags
    flags &= ~lt.torrent_flags.auto_managed
    flags &= ~lt.torrent_flags.paused
    flags |= lt.torrent_flags.disable_pex
    flags |= lt.torrent_flags.disable_dht
    flags |= lt.torrent_flags.disable_lsd
    if args.seed_mode:
        flags |= lt.torrent_flags.seed_mode
    params.flags = flags
    h = ses.add_torrent(params)

    # wait until listening
    deadline = time.time() + 20
    while not ses.is_listening() or ses.listen_port() == 0:
        if time.time() > deadline:
            emit("fatal", error="libtorrent did not start listening")
            sys.exit(4)
        time.sleep(0.02)
    if ti is None:
        ihs = params.info_hashes
    else:
        ihs = ti.info_hashes() if hasattr(ti, "info_hashes") else None
    emit("listening", port=ses.listen_port(),
         info_hash=(str(ihs.v1) if ihs.has_v1() else None) if ihs is not None else str(ti.info_hash()),
         info_hash_v2=str(ihs.v2) if ihs is not None and ihs.has_v2() else None)

    state = {"quit": False, "seeding": False, "finished": False, "connected": set(args.connect)}
    cmd_lock = threading.Lock()
    cmds = []

    def reader():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                c = json.loads(line)
            except ValueError:
                emit("error", error="bad command " + line)
                continue
            with cmd_lock:
                cmds.append(c)
        with cmd_lock:
            cmds.append({"cmd": "quit", "why": "stdin closed"})

    threading.Thread(target=reader, daemon=True).start()

    pending_connects = [parse_ep(x) for x in args.connect]
    last_status = 0.0

    while True:
        with cmd_lock:
            todo = cmds[:]
            del cmds[:]
        for c in todo:
            name = c.get("cmd")
            if name == "quit":
                emit("bye")
                return
            elif name == "connect":
                pending_connects.append((c["host"], int(c["port"])))
            elif name == "settings":
                ses.apply_settings(c["settings"])
                emit("ack", cmd="settings")
            elif name == "local_class":
                set_local_class(ses, {k: v for k, v in c.items() if k != "cmd"})
                emit("ack", cmd="local_class")
            elif name == "status":
                emit_status(h)
            else:
                emit("error", error="unknown command %r" % name)

        st = h.status()
        if pending_connects and st.state not in (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data):
            for ep in pending_connects:
                h.connect_peer(ep)
                emit("dialing", host=ep[0], port=ep[1])
            pending_connects = []

        if st.state == lt.torrent_status.seeding and not state["seeding"]:
            state["seeding"] = True
            emit("seeding")
        if args.mode == "download" and st.is_finished and not state["finished"]:
            state["finished"] = True
            h.flush_cache()
            emit("finished", total_download=st.total_payload_download, total_upload=st.total_payload_upload)

        for a in ses.pop_alerts():
            handle_alert(a)

        if args.status_interval and time.time() - last_status > args.status_interval:
            last_status = time.time()
            emit_status(h)
        ses.wait_for_alert(50)


def set_local_class(ses, changes):
    for cid in (ses.local_peer_class_id, ses.global_peer_class_id, ses.tcp_peer_class_id):
        pc = ses.get_peer_class(cid)
        for k, v in changes.items():
            pc[k] = v
        ses.set_peer_class(cid, pc)


def parse_ep(s):
    host, port = s.rsplit(":", 1)
    return (host, int(port))


def emit_status(h):
    st = h.status()
    peers = []
    for p in h.get_peer_info():
        peers.append({
            "ip": "%s:%d" % (p.ip[0], p.ip[1]),
            "client": p.client.decode("latin1") if isinstance(p.client, bytes) else str(p.client),
            "flags": int(p.flags),
            "choked": bool(p.flags & lt.peer_info.choked),
            "remote_choked": bool(p.flags & lt.peer_info.remote_choked),
            "interesting": bool(p.flags & lt.peer_info.interesting),
            "rc4": bool(p.flags & lt.peer_info.rc4_encrypted),
            "plaintext_encrypted": bool(p.flags & lt.peer_info.plaintext_encrypted),
            "down": p.total_download, "up": p.total_upload,
        })
    emit("status", state=str(st.state), progress=st.progress, num_pieces=st.num_pieces,
         total_download=st.total_payload_download, total_upload=st.total_payload_upload,
         peers=peers)


def handle_alert(a):
    t = type(a).__name__
    if t in ("peer_connect_alert", "incoming_connection_alert"):
        emit("peer_connect", alert=t, msg=a.message())
    elif t == "peer_disconnected_alert":
        emit("peer_disconnect", msg=a.message())
    elif t in ("peer_error_alert", "hash_failed_alert", "file_error_alert", "torrent_error_alert",
               "listen_failed_alert", "peer_ban_alert", "invalid_request_alert", "fastresume_rejected_alert"):
        emit("peer_error" if t.startswith("peer") else "error", alert=t, msg=a.message())
    elif t in ("torrent_finished_alert", "torrent_checked_alert", "piece_finished_alert"):
        if t != "piece_finished_alert":
            emit("alert", alert=t, msg=a.message())


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

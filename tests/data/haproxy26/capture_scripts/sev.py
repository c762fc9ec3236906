import hx as H, scen, json, sys
names = ["last_server_down_backend", "last_server_down_listen", "plain_down_then_up", "log_health_checks_transitions", "disable_on_404_then_500", "backup_running_on_backup", "log_health_checks_backup"]
out = {}
for n in names:
    f, dur = scen.S[n]; c = f().replace("log stdout format raw local0", "log stdout format short local0")
    o, e, _ = H.run_haproxy(c, dur); H.cleanup()
    out[n] = [l for t, l in o]
    print("==", n); [print("  ", l) for l in out[n]]; sys.stdout.flush()
json.dump(out, open("/tmp/hx/sev.json", "w"), indent=1)

import re
opts=[l.strip() for l in open('cli/src/s_server_options.txt') if l.strip()]
src=open('cli/src/options.rs').read()
vblock=src.split('const VALUE_OPTIONS')[1].split('\n];')[0]
fblock=src.split('const FLAG_OPTIONS')[1].split('\n];')[0]
vals=re.findall(r'\(\s*"([A-Za-z0-9_-]+)",\s*"[^"]*",\s*"([^"]*)",?\s*\)', vblock, re.S)
flags=re.findall(r'\(\s*"([A-Za-z0-9_-]+)",\s*"([^"]*)",?\s*\)', fblock, re.S)
ours={n:h for n,h in vals}; ours.update({n:h for n,h in flags})
conf="allow_no_dhe_kex anti_replay bugs cipher ciphersuites client_renegotiation client_sigalgs comp curves ecdh_single groups legacy_renegotiation legacy_server_connect max_protocol min_protocol named_curve no_anti_replay no_comp no_etm no_legacy_server_connect no_middlebox no_renegotiation no_resumption_on_reneg no_ssl3 no_ticket no_tls1 no_tls1_1 no_tls1_2 no_tls1_3 num_tickets prioritize_chacha record_padding serverpref sigalgs strict".split()
tests={'accept':'tests/tests/*.rs (every test uses -accept 0)','www':'tests/tests/www.rs','WWW':'tests/tests/www.rs','HTTP':'tests/tests/www.rs','rev':'tests/tests/rev.rs','naccept':'tests/tests/www.rs','alpn':'tests/tests/alpn_keylog.rs','keylogfile':'tests/tests/alpn_keylog.rs','verify':'tests/tests/client_cert.rs','Verify':'tests/tests/client_cert.rs','CAfile':'tests/tests/client_cert.rs','pass':'tests/tests/errors.rs','cert':'tests/tests/*.rs','key':'tests/tests/errors.rs','cipher':'engine/tests/handshake.rs','help':'cli/src/options.rs unit tests','dtls':'tests/tests/dtls.rs','dtls1':'tests/tests/dtls.rs','dtls1_2':'tests/tests/dtls.rs, engine/tests/dtls*.rs','listen':'tests/tests/dtls.rs','mtu':'tests/tests/dtls.rs, engine/tests/dtls.rs','use_srtp':'engine/src/ossl/dtls.rs (not covered by a test yet)','timeout':'accepted, no effect','tls1':'tests/tests/options.rs','tls1_1':'tests/tests/options.rs','tls1_2':'tests/tests/options.rs (flag conflicts), engine/tests/handshake.rs','tls1_3':'tests/tests/options.rs (flag conflicts), engine/tests/handshake.rs','context':'tests/tests/options.rs','keymatexport':'tests/tests/options.rs','keymatexportlen':'tests/tests/options.rs','max_send_frag':'tests/tests/options.rs','split_send_frag':'tests/tests/options.rs (range check only)','max_pipelines':'not covered (needs a pipelining engine to have an effect)','read_buf':'not covered (no observable effect)','no_ca_names':'tests/tests/options.rs','ignore_unexpected_eof':'tests/tests/options.rs','verify_quiet':'tests/tests/options.rs','no_resume_ephemeral':'tests/tests/options.rs'}
tests.update({'unix':'tests/tests/transport.rs','unlink':'tests/tests/transport.rs','nbio':'tests/tests/transport.rs','sendfile':'tests/tests/transport.rs','ssl_config':'tests/tests/transport.rs','provider':'tests/tests/transport.rs','provider-path':'tests/tests/transport.rs','propquery':'tests/tests/transport.rs','rand':'tests/tests/transport.rs','writerand':'tests/tests/transport.rs','timeout':'tests/tests/transport.rs (always on: docs/compat.md)','listen':'tests/tests/dtls.rs, tests/tests/transport.rs (always on: docs/compat.md)','async':'tests/tests/transport.rs (refusal)','nbio_test':'tests/tests/transport.rs'})  # transport
transport_refused={'async':'with SSL_MODE_ASYNC a paused job (SSL_ERROR_WANT_ASYNC) must be resumed when its wait fd (SSL_get_all_async_fds) is readable; the sans-I/O engine cannot hand that fd to the event loops'}  # transport
rows=[]
for o in opts:
    if o in ours: st='implemented'; note=ours[o]
    elif o in conf: st='implemented (SSL_CONF_cmd)'; note='passed to OpenSSL by name, as s_server does'
    elif o=='engine': st='rejected'; note='engines are not supported (OpenSSL 3 providers replace them)'
    elif o in('sctp','sctp_label_bug'): st='rejected'; note='no SCTP in this build'
    elif o in ('ssl2','ssl3'): st='rejected'; note='SSLv2/SSLv3 are not supported'
    elif o in transport_refused: st='rejected'; note=transport_refused[o]  # transport
    else: st='rejected (for now)'; note='not implemented yet (option-surface issue); one-line refusal, exit 1'
    cov=tests.get(o, 'cli/src/options.rs (refusal)' if st.startswith('rejected') else '')
    rows.append(f"| `-{o}` | {st} | {note} | {cov} |")
ext_tests={'handshake_timeout':'tests/tests/errors.rs','runtime':'tests/tests/concurrency.rs','max_conns':'tests/tests/concurrency.rs','idle_timeout':'engine/tests/handshake.rs','threads':'tests/tests/concurrency.rs','json':'tests/tests/json.rs'}
extra=[f"| `-{n}` | sserve extension | {ours[n]} | {t} |" for n,t in ext_tests.items()]
doc="""# Option table

Every option of `openssl s_server -help` (OpenSSL 3.0; the list is kept in
`cli/src/s_server_options.txt`) plus the 1.1.1 manual's extras. *implemented* options act as in
s_server; *rejected* ones exit 1 with a one-line reason (nothing is silently ignored). Options that
OpenSSL's `SSL_CONF_cmd` knows by name are handed to it unchanged, exactly as s_server's
`config_ctx` does. Deviations from s_server are in [compat.md](compat.md).

Regenerate after changing `cli/src/options.rs`: `python3 docs/gen_options.py > docs/options.md`.

| option | status | notes | covered by |
| --- | --- | --- | --- |
""" + "\n".join(rows+extra)
print(doc)

# shellcheck shell=bash
# Sourced by scripts/kafka.sh: the secured single-node cluster (`start --secure`).
#
# One KRaft node with a listener per way of connecting, certificates made with
# openssl at start, SASL users, and ACLs (StandardAuthorizer):
#
#   PLAINTEXT       admin/tools; inter-broker and controller traffic (ANONYMOUS, a super user)
#   SSL             TLS, server authentication only (ANONYMOUS, a super user)
#   MTLS            TLS with ssl.client.auth=required (principal CN=sluice-client, a super user)
#   SASL_SSL        TLS + SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER
#   SASL_PLAINTEXT  the same mechanisms without TLS
#   REAUTH          SASL_PLAINTEXT with connections.max.reauth.ms=10000 (KIP-368 tests)
#
# Users (PLAIN: in the listener's JAAS; SCRAM: written at format time with
# --add-scram): admin (a super user) and alice. OAUTHBEARER uses Kafka's
# unsecured JWS validator: the token's `sub` is the principal. alice may read
# topics and groups whose names start with "alice-" and nothing else.
#
# $SLUICE_RUN/NAME/secure.json describes it all for the tests (addresses, file
# paths, users and passwords: test secrets only).

SECURE_PASSWORD_ADMIN="admin-secret"
SECURE_PASSWORD_ALICE="alice-secret"
SECURE_PREFIX="alice-"
SECURE_REAUTH_MS=10000
# Ports of a secured cluster, in $dir/ports order after the broker and controller ports.
SECURE_LISTENERS=(SSL MTLS SASL_SSL SASL_PLAINTEXT REAUTH)

# Makes a CA, a broker certificate (SAN IP:127.0.0.1, DNS:localhost: rustls, and
# so Deno, ignores the common name), a client certificate for mutual TLS, and a
# second CA that signed nothing (for "untrusted certificate" tests), in $1/tls.
secure_certs() {
  local tls="$1/tls"
  command -v openssl >/dev/null || die "openssl is not installed; install it (apt-get install openssl)"
  mkdir -p "$tls"
  (
    cd "$tls" || exit 1
    local days=30
    openssl_quiet() { openssl "$@" 2>openssl.err || {
      cat openssl.err >&2
      exit 1
    }; }
    openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.pem -days "$days" -subj "/CN=sluice test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl_quiet req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout other-ca.key -out other-ca.pem -days "$days" -subj "/CN=sluice untrusted CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    # Kafka's PEM key store wants an unencrypted PKCS#8 key (genpkey writes one).
    openssl_quiet genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out broker.key
    openssl_quiet req -new -key broker.key -out broker.csr -subj "/CN=localhost"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >broker.ext
    openssl_quiet x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out broker.crt -days "$days" -extfile broker.ext
    cat broker.key broker.crt ca.pem >broker-keystore.pem
    openssl_quiet genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out client.key
    openssl_quiet req -new -key client.key -out client.csr -subj "/CN=sluice-client"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl_quiet x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out client.pem -days "$days" -extfile client.ext
    rm -f ./*.csr ./*.ext ./*.srl openssl.err
  ) || die "openssl could not make the test certificates (see above)"
}

# Listeners, TLS stores, SASL and ACL settings appended to node1's server.properties.
secure_config() { # dir
  local dir=$1 node="$1/node1" tls="$1/tls" p=() i listeners advertised
  mapfile -t p <"$dir/ports"
  listeners="PLAINTEXT://127.0.0.1:${p[0]},CONTROLLER://127.0.0.1:${p[1]}"
  advertised="PLAINTEXT://127.0.0.1:${p[0]}"
  for i in "${!SECURE_LISTENERS[@]}"; do
    listeners+=",${SECURE_LISTENERS[$i]}://127.0.0.1:${p[$((i + 2))]}"
    advertised+=",${SECURE_LISTENERS[$i]}://127.0.0.1:${p[$((i + 2))]}"
  done
  local plain_jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$SECURE_PASSWORD_ADMIN\" user_admin=\"$SECURE_PASSWORD_ADMIN\" user_alice=\"$SECURE_PASSWORD_ALICE\";"
  local scram_jaas="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  local oauth_jaas="org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";"
  local oauth_handler="org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler"
  sed -i -e "s#^listeners=.*#listeners=$listeners#" -e "s#^advertised.listeners=.*#advertised.listeners=$advertised#" \
    -e "s#^listener.security.protocol.map=.*#listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,REAUTH:SASL_PLAINTEXT#" \
    "$node/server.properties"
  {
    printf '\n# Secured listeners (scripts/kafka/secure.sh).\n'
    printf 'ssl.keystore.type=PEM\nssl.keystore.location=%s\n' "$tls/broker-keystore.pem"
    printf 'ssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$tls/ca.pem"
    printf 'listener.name.mtls.ssl.client.auth=required\n'
    printf 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n'
    printf 'super.users=User:ANONYMOUS;User:admin;User:CN=sluice-client\n'
    printf 'allow.everyone.if.no.acl.found=false\n'
    local l lower mechanisms
    for l in SASL_SSL SASL_PLAINTEXT REAUTH; do
      lower=${l,,}
      mechanisms="PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER"
      printf 'listener.name.%s.sasl.enabled.mechanisms=%s\n' "$lower" "$mechanisms"
      printf 'listener.name.%s.plain.sasl.jaas.config=%s\n' "$lower" "$plain_jaas"
      printf 'listener.name.%s.scram-sha-256.sasl.jaas.config=%s\n' "$lower" "$scram_jaas"
      printf 'listener.name.%s.scram-sha-512.sasl.jaas.config=%s\n' "$lower" "$scram_jaas"
      printf 'listener.name.%s.oauthbearer.sasl.jaas.config=%s\n' "$lower" "$oauth_jaas"
      printf 'listener.name.%s.oauthbearer.sasl.server.callback.handler.class=%s\n' "$lower" "$oauth_handler"
    done
    # KIP-368: sessions on REAUTH last at most this long; clients must
    # re-authenticate on the connection before it ends, or be disconnected.
    printf 'listener.name.reauth.connections.max.reauth.ms=%s\n' "$SECURE_REAUTH_MS"
  } >>"$node/server.properties"
}

# The SCRAM credentials written into the cluster's bootstrap metadata at format time.
secure_scram_args() {
  local user pass mech
  for user in admin alice; do
    [[ $user == admin ]] && pass=$SECURE_PASSWORD_ADMIN || pass=$SECURE_PASSWORD_ALICE
    for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
      printf '%s\n' --add-scram "$mech=[name=$user,password=$pass]"
    done
  done
}

# alice: read and describe on topics and groups named "alice-*", write on
# those topics (the producer tests); nothing else.
secure_acls() { # dir
  local dir=$1 port
  port=$(sed -n 1p "$dir/ports")
  # Subshells: tool runs java with exec.
  {
    (tool acls --bootstrap-server "127.0.0.1:$port" --add --allow-principal User:alice \
      --operation Read --operation Describe --topic "$SECURE_PREFIX" --group "$SECURE_PREFIX" \
      --resource-pattern-type prefixed) &&
      (tool acls --bootstrap-server "127.0.0.1:$port" --add --allow-principal User:alice \
        --operation Write --topic "$SECURE_PREFIX" --resource-pattern-type prefixed)
  } >"$dir/acls.log" 2>&1 || {
    cat "$dir/acls.log" >&2
    return 1
  }
}

json_str() { printf '"%s"' "$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' <<<"$1")"; }

secure_describe() { # dir
  local dir=$1 tls="$1/tls" p=() i
  mapfile -t p <"$dir/ports"
  {
    printf '{\n  "listeners": {\n'
    printf '    "PLAINTEXT": "127.0.0.1:%s"' "${p[0]}"
    for i in "${!SECURE_LISTENERS[@]}"; do
      printf ',\n    "%s": "127.0.0.1:%s"' "${SECURE_LISTENERS[$i]}" "${p[$((i + 2))]}"
    done
    printf '\n  },\n'
    printf '  "caCert": %s,\n' "$(json_str "$tls/ca.pem")"
    printf '  "untrustedCaCert": %s,\n' "$(json_str "$tls/other-ca.pem")"
    printf '  "clientCert": %s,\n' "$(json_str "$tls/client.pem")"
    printf '  "clientKey": %s,\n' "$(json_str "$tls/client.key")"
    printf '  "mechanisms": ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"],\n'
    printf '  "users": { "admin": %s, "alice": %s },\n' "$(json_str "$SECURE_PASSWORD_ADMIN")" \
      "$(json_str "$SECURE_PASSWORD_ALICE")"
    printf '  "superUsers": ["ANONYMOUS", "admin", "CN=sluice-client"],\n'
    printf '  "allowedPrefix": %s,\n' "$(json_str "$SECURE_PREFIX")"
    printf '  "reauthMs": %s\n' "$SECURE_REAUTH_MS"
    printf '}\n'
  } >"$dir/secure.json.tmp"
  mv "$dir/secure.json.tmp" "$dir/secure.json"
}

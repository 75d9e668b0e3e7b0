#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, paperclip.kubernetes contributors
# MIT License (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


DOCUMENTATION = r"""
module: paperclip_health

short_description: Wait until a Paperclip server reports itself healthy

version_added: 0.1.0

author:
  - paperclip.kubernetes contributors (@paperclipai)

description:
  - Reads Paperclip's C(/api/health) endpoint, either at a URL or through the
    Kubernetes API server's service proxy, and waits until it answers HTTP 200
    with C(status) C(ok).
  - An HTTP 200 with C(status) C(starting) (Paperclip runs its startup
    recovery) is not healthy; the module keeps waiting.
  - An HTTP 503 saying C(database_unreachable) is reported as such when the
    wait times out.
  - Returns the parsed health body, in particular the first-admin bootstrap
    state (C(bootstrap_status), C(bootstrap_invite_active)).
  - Only reads; supports check mode and never reports a change.

extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options

options:
  url:
    description:
      - Base URL of Paperclip, for example C(https://paperclip.example.com), or the
        full URL of its health endpoint (C(.../api/health)).
      - Mutually exclusive with I(service); one of the two is required.
    type: str
  validate_certs:
    description:
      - Whether to verify TLS certificates.
      - With I(url), this applies to the Paperclip URL and, when not set, means C(true).
      - With I(service), this applies to the Kubernetes API server (as in
        kubernetes.core modules); when not set, the kubeconfig decides.
    type: bool
    aliases: [ verify_ssl ]
  ca_path:
    description:
      - A PEM file of CA certificates used to verify the server at I(url).
      - Only used with I(url); for the Kubernetes API server use I(ca_cert).
    type: path
  host_header:
    description:
      - Value for the HTTP C(Host) header when requesting I(url), for example when
        I(url) is an IP address and Paperclip only allows its public host name.
      - TLS still connects to, and verifies the certificate for, the host in I(url).
    type: str
  service:
    description:
      - Name of the Kubernetes Service in front of Paperclip. The module then reaches
        C(/api/v1/namespaces/<namespace>/services/<scheme>:<service>:<port>/proxy/api/health)
        through the Kubernetes API server, authenticated with the kubernetes.core options.
      - Mutually exclusive with I(url).
    type: str
  namespace:
    description:
      - Namespace of I(service). Required with I(service).
    type: str
  port:
    description:
      - Port name or number of I(service).
    type: str
    default: http
  scheme:
    description:
      - Scheme the API server uses to talk to I(service).
    type: str
    choices: [ http, https ]
    default: http
  wait:
    description:
      - Wait until Paperclip is healthy. When C(false), probe once and return what
        was seen; the module then fails only when no HTTP answer was received.
    type: bool
    default: true
  timeout:
    description:
      - How many seconds to wait in total. A probe gets at most 60 seconds, and never more
        than what is left; through the service proxy each probe is a single request (the
        kubernetes client's own retries are turned off), so the wait ends on time even when
        Paperclip takes minutes to answer.
    type: int
    default: 300
  interval:
    description:
      - Seconds between two probes.
    type: int
    default: 5

requirements:
  - "python >= 3.9"
  - "kubernetes >= 24.2.0"
  - "PyYAML >= 3.11"

notes:
  - The kubernetes.core connection options (I(kubeconfig), I(context), I(host), ...)
    are only used with I(service).
  - A failure message carries the last HTTP status code and a truncated body,
    and the URL or API path that was tried. Invite tokens are redacted.
"""

EXAMPLES = r"""
- name: Wait for Paperclip at its public URL
  paperclip.kubernetes.paperclip_health:
    url: https://paperclip.example.com
    timeout: 600
  register: health

- name: Show the bootstrap state
  ansible.builtin.debug:
    msg: "{{ health.bootstrap_status }} (invite active: {{ health.bootstrap_invite_active }})"

- name: Wait through the Kubernetes API server, without any ingress
  paperclip.kubernetes.paperclip_health:
    service: paperclip
    namespace: paperclip
    port: http
    kubeconfig: ~/.kube/config

- name: Reach the ingress by IP with the public host name
  paperclip.kubernetes.paperclip_health:
    url: https://203.0.113.10
    host_header: paperclip.example.com
    ca_path: /etc/ssl/private-ca.pem

- name: Probe once without waiting
  paperclip.kubernetes.paperclip_health:
    url: http://127.0.0.1:3100/api/health
    wait: false
  register: probe
"""

RETURN = r"""
status:
  description: The C(status) field of the health body (C(ok), C(starting), ...), null if the body was not JSON.
  returned: always
  type: str
  sample: ok
bootstrap_status:
  description: Paperclip's first-admin state, C(bootstrap_pending) until an admin accepted the bootstrap invite, then C(ready).
  returned: always
  type: str
  sample: bootstrap_pending
bootstrap_invite_active:
  description: Whether an unexpired bootstrap CEO invite exists. Null if the body did not say.
  returned: always
  type: bool
  sample: false
deployment_mode:
  description: Paperclip's deployment mode.
  returned: always
  type: str
  sample: authenticated
deployment_exposure:
  description: Paperclip's deployment exposure.
  returned: always
  type: str
  sample: public
http_status:
  description: HTTP status code of the last answer; null if none was received.
  returned: always
  type: int
  sample: 200
body:
  description:
    - The last health body, parsed. Empty if it was not a JSON object.
    - When the Kubernetes API server answered itself (I(state=kubernetes_error)), its Status object;
      the other fields are then null.
  returned: always
  type: dict
  sample:
    status: ok
    deploymentMode: authenticated
    deploymentExposure: public
    localAiLoginSupported: false
    commit: null
    bootstrapStatus: bootstrap_pending
    bootstrapInviteActive: false
state:
  description: >-
    What the last probe meant: C(ok), C(starting), C(database_unreachable), C(host_not_allowed),
    C(kubernetes_error), C(not_json), C(unhealthy) or C(unreachable).
  returned: always
  type: str
  sample: ok
events:
  description: >-
    On a failed wait through the service proxy, the newest events of the pods behind the Service
    (probe failures, restarts), as short lines, oldest first. Warnings are chosen before Normal
    events, so probe failures stay in the list when a restart adds newer ones.
  returned: on failure with I(service)
  type: list
  elements: str
  sample: ["paperclip-0: Warning Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (x12)"]
url:
  description: The URL, or Kubernetes API path, that was probed.
  returned: always
  type: str
  sample: https://paperclip.example.com/api/health
attempts:
  description: Number of probes made.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 10.2
"""

import copy

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import (
    AnsibleModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import (
    AUTH_ARG_SPEC,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
    AnsibleK8SModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
    CoreException,
)
from ansible_collections.paperclip.kubernetes.plugins.module_utils.health import (
    ServiceProber,
    UrlProber,
    run,
)


def argspec():
    args = copy.deepcopy(AUTH_ARG_SPEC)
    args.update(
        dict(
            url=dict(type="str"),
            ca_path=dict(type="path"),
            host_header=dict(type="str"),
            service=dict(type="str"),
            namespace=dict(type="str"),
            port=dict(type="str", default="http"),
            scheme=dict(type="str", default="http", choices=["http", "https"]),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=300),
            interval=dict(type="int", default=5),
        )
    )
    return args


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule,
        argument_spec=argspec(),
        supports_check_mode=True,
        mutually_exclusive=[("url", "service")],
        required_one_of=[("url", "service")],
        required_by={"service": "namespace"},
    )
    try:
        if module.params["url"]:
            try:
                prober = UrlProber(module.params)
            except ValueError as exc:
                module.fail_json(msg=to_text(exc))
        else:
            prober = ServiceProber(module)
        run(module, prober)
    except CoreException as e:
        module.fail_from_exception(e)


if __name__ == "__main__":
    main()

/**
 * NAT router behaviours, as nftables rulesets for a Linux router namespace with one host on
 * its LAN. Terms from RFC 4787: mapping (which public port an inside socket gets) and filtering
 * (who may send to that public port).
 *
 * Linux `masquerade` keeps the inside port when it is free, and it always is here (one host per
 * LAN), so it maps endpoint-independently: one inside address:port has one public address:port
 * whatever the destination. `fully-random` picks a new port per connection instead: the
 * symmetric NAT of carrier-grade and corporate gateways. conntrack alone filters by address
 * and port (only the exact remote a mapping was made for may answer); the looser filters
 * remember each mapping in a dynamic set and forward new inbound connections that match it.
 */
export const NAT_KINDS = ['full-cone', 'restricted', 'port-restricted', 'symmetric'] as const
export type NatKind = (typeof NAT_KINDS)[number]

export const NAT_KIND_DESCRIPTIONS: Readonly<Record<NatKind, string>> = {
  'full-cone': 'endpoint-independent mapping and filtering',
  restricted: 'endpoint-independent mapping, address-dependent filtering',
  'port-restricted': 'endpoint-independent mapping, address- and port-dependent filtering',
  symmetric: 'address- and port-dependent mapping and filtering'
}

export interface RouterInterfaces {
  /** The interface towards the lab internet. */
  readonly wan: string
  /** The interface towards the LAN. */
  readonly lan: string
  /** The one host on the LAN. */
  readonly host: string
}

/** How long an idle mapping is kept (seconds); conntrack keeps its own entries longer. */
const MAPPING_TIMEOUT_S = 300

/** An nftables ruleset (for `nft -f -`) that makes the router behave as `kind`. */
export function natRuleset (kind: NatKind, i: RouterInterfaces): string {
  const masquerade = kind === 'symmetric' ? 'masquerade fully-random' : 'masquerade'
  // A mapping is recorded after SNAT (priority srcnat + 1), so the set holds the public port.
  const mappingKey = kind === 'restricted' ? 'ip daddr . meta l4proto . th sport' : 'meta l4proto . th sport'
  const mappingType = kind === 'restricted' ? 'ipv4_addr . inet_proto . inet_service' : 'inet_proto . inet_service'
  const inboundKey = kind === 'restricted' ? 'ip saddr . meta l4proto . th dport' : 'meta l4proto . th dport'
  const loose = kind === 'full-cone' || kind === 'restricted'
  return [
    'flush ruleset',
    'table ip nat {',
    loose ? `  set mappings { type ${mappingType}; flags dynamic, timeout; timeout ${MAPPING_TIMEOUT_S}s; size 65535; }` : '',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    loose ? `    iifname "${i.wan}" meta l4proto { tcp, udp } ${inboundKey} @mappings dnat to ${i.host}` : '',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname "${i.wan}" ${masquerade}`,
    '  }',
    loose ? '  chain record {' : '',
    loose ? '    type filter hook postrouting priority 101; policy accept;' : '',
    loose ? `    oifname "${i.wan}" meta l4proto { tcp, udp } update @mappings { ${mappingKey} }` : '',
    loose ? '  }' : '',
    '}',
    'table ip filter {',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    // As home routers do: a packet conntrack cannot place (e.g. a SYN-ACK whose sequence does
    // not match the SYN it answers) would otherwise leave un-NATed, with its private source.
    '    ct state invalid drop',
    '    ct state established,related accept',
    `    iifname "${i.lan}" oifname "${i.wan}" accept`,
    loose ? `    iifname "${i.wan}" ct status dnat accept` : '',
    '  }',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    ct state established,related accept',
    `    iifname { "lo", "${i.lan}" } accept`,
    '  }',
    '}',
    ''
  ].filter(line => line !== '').join('\n')
}

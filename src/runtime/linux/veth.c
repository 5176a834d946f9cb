/* The fast path of a container joining a warm bridge.
 *
 * Once netavark has made a network's bridge and firewall rules and the driver keeps them
 * warm (netwarm.c), what a container without published ports and without name resolution
 * (the default bridge) still needs is what netavark's create_veth_pair does: a veth pair
 * with one end on the bridge and the other in the sandbox, named as asked, with its
 * addresses, up, and the default route through the gateway. netavark spends ~40 ms per
 * container on it (its iptables checks, two Rust/Go-free but exec-heavy runs); rtnetlink
 * does it in well under a millisecond. Leaving is deleting the sandbox's end (the kernel
 * takes the pair). Anything else (ports, DNS, IPv6, a cold bridge) goes through netavark.
 *
 * Settings inside the sandbox are made by a short-lived thread that enters its network
 * namespace: a network namespace is per thread, so arcad's other threads are unaffected. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/linux/lx_driver.h"
#include "runtime/linux/lx_paths.h"

/* ---- rtnetlink messages ---------------------------------------------------------- */

#define NL_BUF 4096

typedef struct nl_msg {
  union {
    struct nlmsghdr h;
    char buf[NL_BUF];
  };
} nl_msg;

static void nl_init(nl_msg *m, int type, int flags, const void *body, size_t len) {
  memset(m, 0, sizeof *m);
  m->h.nlmsg_type = (unsigned short)type;
  m->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
  m->h.nlmsg_len = NLMSG_LENGTH(len);
  memcpy(NLMSG_DATA(&m->h), body, len);
}

static struct rtattr *nl_attr(nl_msg *m, int type, const void *data, size_t len) {
  struct rtattr *a = (struct rtattr *)(m->buf + NLMSG_ALIGN(m->h.nlmsg_len));
  a->rta_type = (unsigned short)type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  m->h.nlmsg_len = NLMSG_ALIGN(m->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static struct rtattr *nl_nest(nl_msg *m, int type) { return nl_attr(m, type, NULL, 0); }
static void nl_nest_end(nl_msg *m, struct rtattr *nest) {
  nest->rta_len = (unsigned short)(m->buf + m->h.nlmsg_len - (char *)nest);
}

static int nl_open(void) { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }

/* Sends m and reads the answer: 0 (or, with reply, the first answering message copied to
 * it), -errno from the kernel's NLMSG_ERROR. */
static int nl_talk(int fd, nl_msg *m, nl_msg *reply) {
  static _Atomic unsigned seq;
  m->h.nlmsg_seq = ++seq;
  m->h.nlmsg_flags |= NLM_F_ACK;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (sendto(fd, m, m->h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof sa) < 0) return -errno;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != m->h.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        return e->error; /* 0 is the ACK */
      }
      if (reply && h->nlmsg_len <= sizeof reply->buf) memcpy(reply->buf, h, h->nlmsg_len);
    }
  }
}

/* ---- inside the sandbox ---------------------------------------------------------- */

enum ns_op { NS_DELETE = 0, NS_SETUP, NS_DOWN };

typedef struct in_ns_job {
  int netns_fd;
  const char *ifname;
  enum ns_op op;
  /* set up: addresses, gateway (absent for internal networks) */
  struct in_addr addrs[4];
  int prefix[4];
  size_t naddrs;
  bool has_gateway;
  struct in_addr gateway;
  /* out */
  int err;              /* -errno */
  const char *step;
  unsigned char mac[6];
  int host_ifindex;     /* the peer, in the host's namespace */
} in_ns_job;

static int link_info(int fd, const char *ifname, int *index, unsigned char mac[6], int *peer) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  nl_msg m, reply;
  nl_init(&m, RTM_GETLINK, 0, &ifi, sizeof ifi);
  nl_attr(&m, IFLA_IFNAME, ifname, strlen(ifname) + 1);
  memset(&reply, 0, sizeof reply);
  int rc = nl_talk(fd, &m, &reply);
  if (rc < 0) return rc;
  if (reply.h.nlmsg_type != RTM_NEWLINK) return -ENODEV;
  const struct ifinfomsg *got = NLMSG_DATA(&reply.h);
  *index = got->ifi_index;
  int len = (int)IFLA_PAYLOAD(&reply.h);
  for (struct rtattr *a = IFLA_RTA(got); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == 6) memcpy(mac, RTA_DATA(a), 6);
    if (a->rta_type == IFLA_LINK && RTA_PAYLOAD(a) == sizeof(int)) memcpy(peer, RTA_DATA(a), sizeof(int));
  }
  return 0;
}

static int set_up(int fd, int index) {
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
  nl_msg m;
  nl_init(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  return nl_talk(fd, &m, NULL);
}

static int write_sysctl(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = write(fd, value, strlen(value)) < 0 ? -errno : 0;
  close(fd);
  return rc;
}

static void *in_ns_main(void *arg) {
  in_ns_job *j = arg;
  j->step = "enter the sandbox's network namespace";
  if (setns(j->netns_fd, CLONE_NEWNET) < 0) {
    j->err = -errno;
    return NULL;
  }
  int fd = nl_open();
  if (fd < 0) {
    j->err = -errno;
    j->step = "netlink";
    return NULL;
  }
  int index = 0;
  if (j->op != NS_SETUP) {
    j->step = j->op == NS_DOWN ? "set the container's interface down" : "delete the container's interface";
    j->err = link_info(fd, j->ifname, &index, j->mac, &j->host_ifindex);
    if (j->err == 0) {
      struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
      if (j->op == NS_DOWN) ifi.ifi_change = IFF_UP; /* flags 0: down */
      nl_msg m;
      nl_init(&m, j->op == NS_DOWN ? RTM_NEWLINK : RTM_DELLINK, 0, &ifi, sizeof ifi);
      j->err = nl_talk(fd, &m, NULL);
    } else if (j->err == -ENODEV) {
      j->err = 0; /* gone already */
    }
    close(fd);
    return NULL;
  }
  j->step = "find the container's interface";
  if ((j->err = link_info(fd, j->ifname, &index, j->mac, &j->host_ifindex)) < 0) goto out;
  /* as netavark: no IPv6 autoconfiguration on the interface */
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/autoconf", j->ifname);
  write_sysctl(path, "0");
  for (size_t i = 0; i < j->naddrs; i++) {
    struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)j->prefix[i],
                            .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)index};
    nl_msg m;
    nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
    nl_attr(&m, IFA_LOCAL, &j->addrs[i], 4);
    nl_attr(&m, IFA_ADDRESS, &j->addrs[i], 4);
    j->step = "add an address to the container's interface";
    if ((j->err = nl_talk(fd, &m, NULL)) < 0) goto out;
  }
  j->step = "set the container's interface up";
  if ((j->err = set_up(fd, index)) < 0) goto out;
  if (j->has_gateway) {
    struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                       .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
    nl_msg m;
    nl_init(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
    nl_attr(&m, RTA_GATEWAY, &j->gateway, 4);
    j->step = "add the default route";
    j->err = nl_talk(fd, &m, NULL);
  }
out:
  close(fd);
  return NULL;
}

static int run_in_ns(in_ns_job *j) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, in_ns_main, j);
  if (rc != 0) {
    j->err = -rc;
    j->step = "thread";
    return -1;
  }
  pthread_join(t, NULL);
  return j->err < 0 ? -1 : 0;
}

/* ---- when the fast path applies --------------------------------------------------- */

typedef struct fast_req {
  const char *network_name, *ifname, *bridge;
  const json_t *per, *info;
  int mtu;
} fast_req;

static bool link_exists(const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/sys/class/net/%s", name);
  return access(path, F_OK) == 0;
}

static bool fast_applies(const json_t *request, fast_req *f) {
  if (json_array_size(json_object_get(request, "port_mappings"))) return false;
  const json_t *networks = json_object_get(request, "networks");
  const json_t *infos = json_object_get(request, "network_info");
  if (json_object_size(networks) != 1 || json_object_size(infos) != 1) return false;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)networks, key, v) {
    f->network_name = key;
    f->per = v;
  }
  f->info = json_object_get(infos, f->network_name);
  if (!f->info) return false;
  const char *driver = json_string_value(json_object_get(f->info, "driver"));
  f->bridge = json_string_value(json_object_get(f->info, "network_interface"));
  f->ifname = json_string_value(json_object_get(f->per, "interface_name"));
  const char *id = json_string_value(json_object_get(f->info, "id"));
  if (!driver || strcmp(driver, "bridge") || !f->bridge || !f->ifname || !id || strlen(f->ifname) > IFNAMSIZ - 1)
    return false;
  if (json_is_true(json_object_get(f->info, "dns_enabled")) || json_is_true(json_object_get(f->info, "ipv6_enabled")))
    return false;
  f->mtu = 0;
  const json_t *opts = json_object_get(f->info, "options");
  const char *okey;
  json_t *ov;
  json_object_foreach((json_t *)opts, okey, ov) {
    if (strcmp(okey, "mtu")) return false; /* anything else: netavark knows what it means */
    f->mtu = atoi(json_string_value(ov) ? json_string_value(ov) : "0");
  }
  char anchor[IFNAMSIZ];
  snprintf(anchor, sizeof anchor, "aw%.13s", id);
  return link_exists(f->bridge) && link_exists(anchor);
}

static int parse_ips(const fast_req *f, in_ns_job *j) {
  const json_t *ips = json_object_get(f->per, "static_ips");
  const json_t *subnets = json_object_get(f->info, "subnets");
  size_t i;
  json_t *ip;
  json_array_foreach(ips, i, ip) {
    if (j->naddrs == ARRAY_LEN(j->addrs)) return -1;
    struct in_addr a;
    if (!json_string_value(ip) || inet_pton(AF_INET, json_string_value(ip), &a) != 1) return -1;
    /* its subnet and gateway */
    size_t k;
    json_t *sn;
    bool found = false;
    json_array_foreach(subnets, k, sn) {
      const char *cidr = json_string_value(json_object_get(sn, "subnet"));
      char net[64];
      if (!cidr || strlen(cidr) >= sizeof net) continue;
      snprintf(net, sizeof net, "%s", cidr);
      char *slash = strchr(net, '/');
      if (!slash) continue;
      *slash = '\0';
      int bits = atoi(slash + 1);
      struct in_addr base;
      if (inet_pton(AF_INET, net, &base) != 1 || bits < 0 || bits > 32) continue;
      uint32_t mask = bits ? htonl(~0u << (32 - bits)) : 0;
      if ((a.s_addr & mask) != (base.s_addr & mask)) continue;
      j->addrs[j->naddrs] = a;
      j->prefix[j->naddrs] = bits;
      const char *gw = json_string_value(json_object_get(sn, "gateway"));
      if (!j->has_gateway && gw && inet_pton(AF_INET, gw, &j->gateway) == 1) j->has_gateway = true;
      found = true;
      break;
    }
    if (!found) return -1;
    j->naddrs++;
  }
  return j->naddrs ? 0 : -1;
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  unsigned v[6];
  if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)v[i];
  return 0;
}

/* ---- attach and detach ----------------------------------------------------------- */

int lx_veth_attach(lx_driver *d, const char *id, const json_t *request, json_t **result, arca_err *err) {
  fast_req f;
  if (!fast_applies(request, &f)) return 0;
  lx_veth_settle(d, id); /* a deletion still under way in this sandbox */
  in_ns_job j = {.op = NS_SETUP, .ifname = f.ifname};
  if (parse_ips(&f, &j) < 0) return 0;
  if (json_is_true(json_object_get(f.info, "internal"))) j.has_gateway = false;
  unsigned char static_mac[6];
  const char *mac_text = json_string_value(json_object_get(f.per, "static_mac"));
  bool has_mac = mac_text && *mac_text;
  if (has_mac && parse_mac(mac_text, static_mac) < 0) return 0;
  int bridge_index = (int)if_nametoindex(f.bridge);
  if (!bridge_index) return 0;

  autofree char *netns = lx_netns_path(d->exec_root, id);
  autoclose int ns_fd = open(netns, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) return err_errno(err, 409, errno, "sandbox %s has no network namespace of its own", id);
  autoclose int fd = nl_open();
  if (fd < 0) return err_errno(err, 500, errno, "netlink");

  /* the pair: the host's end on the bridge (the kernel names it vethN), the other in the
   * sandbox under the name asked for */
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  nl_msg m;
  nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  nl_attr(&m, IFLA_MASTER, &bridge_index, sizeof bridge_index);
  if (f.mtu > 0) nl_attr(&m, IFLA_MTU, &f.mtu, sizeof f.mtu);
  struct rtattr *linkinfo = nl_nest(&m, IFLA_LINKINFO);
  nl_attr(&m, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = nl_nest(&m, IFLA_INFO_DATA);
  struct rtattr *peer = nl_nest(&m, VETH_INFO_PEER);
  struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
  /* the peer's ifinfomsg sits right after the attribute header */
  m.h.nlmsg_len += (unsigned)NLMSG_ALIGN(sizeof peer_ifi);
  memcpy(RTA_DATA(peer), &peer_ifi, sizeof peer_ifi);
  nl_attr(&m, IFLA_IFNAME, f.ifname, strlen(f.ifname) + 1);
  int ns = ns_fd;
  nl_attr(&m, IFLA_NET_NS_FD, &ns, sizeof ns);
  if (f.mtu > 0) nl_attr(&m, IFLA_MTU, &f.mtu, sizeof f.mtu);
  if (has_mac) nl_attr(&m, IFLA_ADDRESS, static_mac, 6);
  nl_nest_end(&m, peer);
  nl_nest_end(&m, data);
  nl_nest_end(&m, linkinfo);
  int rc = nl_talk(fd, &m, NULL);
  if (rc == -EEXIST)
    return err_set(err, 500, "create veth pair: interface %s already exists on container namespace", f.ifname);
  if (rc < 0) return err_errno(err, 500, -rc, "create veth pair");

  j.netns_fd = ns_fd;
  if (run_in_ns(&j) < 0 || (j.host_ifindex > 0 && (rc = set_up(fd, j.host_ifindex)) < 0)) {
    int e = j.err < 0 ? -j.err : -rc;
    const char *step = j.err < 0 ? j.step : "set the host's end up";
    in_ns_job undo = {.netns_fd = ns_fd, .ifname = f.ifname, .op = NS_DELETE};
    run_in_ns(&undo);
    return err_errno(err, 500, e, "%s", step);
  }
  char mac[18];
  snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", j.mac[0], j.mac[1], j.mac[2], j.mac[3], j.mac[4],
           j.mac[5]);
  json_t *subnets = json_array();
  for (size_t i = 0; i < j.naddrs; i++) {
    char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &j.addrs[i], a, sizeof a);
    json_t *s = json_pack("{s:s}", "ipnet", "");
    char ipnet[INET_ADDRSTRLEN + 4];
    snprintf(ipnet, sizeof ipnet, "%s/%d", a, j.prefix[i]);
    json_object_set_new(s, "ipnet", json_string(ipnet));
    if (j.has_gateway) {
      inet_ntop(AF_INET, &j.gateway, g, sizeof g);
      json_object_set_new(s, "gateway", json_string(g));
    }
    json_array_append_new(subnets, s);
  }
  *result = json_pack("{s:{s:[],s:[],s:{s:{s:s,s:o}}}}", f.network_name, "dns_search_domains", "dns_server_ips",
                      "interfaces", f.ifname, "mac_address", mac, "subnets", subnets);
  return 1;
}

/* Deleting a network device waits for an RCU grace period (~12 ms here). A container that
 * leaves has its interface set down at once (no traffic, no ARP: its address may be handed
 * out again right away) and deleted by a thread of its own; whatever needs the sandbox's
 * network namespace next (a new setup, netavark, its removal) settles that first. */
typedef struct veth_pending {
  struct veth_pending *next;
  char id[65];
  char ifname[IFNAMSIZ];
  int ns_fd;
  pthread_t thread;
  _Atomic bool done;
} veth_pending;

static void *pending_main(void *arg) {
  veth_pending *p = arg;
  in_ns_job j = {.netns_fd = p->ns_fd, .ifname = p->ifname, .op = NS_DELETE};
  in_ns_main(&j); /* this thread is ours: it may enter the namespace itself */
  if (j.err < 0) log_kv(LOG_WARN, "container interface not deleted", "sandbox", p->id, "error", strerror(-j.err), NULL);
  p->done = true;
  return NULL;
}

/* Joins the deletions of sandbox id (NULL: all), or with finished_only those that ended. */
static void settle(lx_driver *d, const char *id, bool finished_only) {
  for (;;) {
    veth_pending *found = NULL;
    pthread_mutex_lock(&d->lock);
    for (veth_pending **pp = (veth_pending **)&d->veth_pending; *pp; pp = &(*pp)->next)
      if ((!id || !strcmp((*pp)->id, id)) && (!finished_only || (*pp)->done)) {
        found = *pp;
        *pp = found->next;
        break;
      }
    pthread_mutex_unlock(&d->lock);
    if (!found) return;
    pthread_join(found->thread, NULL);
    close(found->ns_fd);
    free(found);
  }
}

void lx_veth_settle(lx_driver *d, const char *id) { settle(d, id, false); }

int lx_veth_detach(lx_driver *d, const char *id, const json_t *request, arca_err *err) {
  fast_req f;
  if (!fast_applies(request, &f)) return 0;
  settle(d, NULL, true); /* the threads of earlier deletions that are done */
  autofree char *netns = lx_netns_path(d->exec_root, id);
  int ns_fd = open(netns, O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) return 0; /* netavark reports what is missing */
  in_ns_job j = {.netns_fd = ns_fd, .ifname = f.ifname, .op = NS_DOWN};
  if (run_in_ns(&j) < 0) {
    close(ns_fd);
    return err_errno(err, 500, -j.err, "%s", j.step);
  }
  veth_pending *p = xcalloc(1, sizeof *p);
  snprintf(p->id, sizeof p->id, "%s", id);
  snprintf(p->ifname, sizeof p->ifname, "%s", f.ifname);
  p->ns_fd = ns_fd;
  if (pthread_create(&p->thread, NULL, pending_main, p) != 0) {
    pending_main(p); /* no thread: delete it here */
    close(ns_fd);
    free(p);
    return 1;
  }
  pthread_mutex_lock(&d->lock);
  p->next = d->veth_pending;
  d->veth_pending = p;
  pthread_mutex_unlock(&d->lock);
  return 1;
}

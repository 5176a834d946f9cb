/* Docker's container configuration checks: a table of create bodies with dockerd 28's exact
 * answers (the JSON decoding texts were produced by Go's encoding/json over dockerd's types,
 * the others read from moby's code), then defaults, updates, binds, ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/cleanup.h"
#include "engine/container_config.h"

typedef struct create_case {
  int api;          /* API minor version; 0 means 51 */
  const char *body;
  const char *msg;  /* NULL: accepted */
} create_case;

static const create_case create_cases[] = {
    /* ---- Go's decoding ---- */
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":\"1g\"}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "HostConfig.HostConfig.Resources.Memory of type int64"},
    {0, "{\"Image\":5}",
     "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Config.Image "
     "of type string"},
    {0, "{\"Image\":\"x\",\"Cmd\":5}",
     "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Config.Cmd "
     "of type string"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":8080}]}}}",
     "invalid JSON: json: cannot unmarshal number into Go struct field "
     "PortBinding.HostConfig.PortBindings.HostPort of type string"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"BlkioWeight\":-1}}",
     "invalid JSON: json: cannot unmarshal number -1 into Go struct field "
     "HostConfig.HostConfig.Resources.BlkioWeight of type uint16"},
    {0, "{\"Image\":\"x\",\"Healthcheck\":{\"Interval\":\"1s\"}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "HealthcheckConfig.Config.Healthcheck.Interval of type time.Duration"},
    {0, "{\"Image\":\"x\",\"HostConfig\":\"x\"}",
     "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.HostConfig "
     "of type container.HostConfig"},
    {0, "[1]",
     "invalid JSON: json: cannot unmarshal array into Go value of type container.CreateRequest"},
    {0, "{\"Tty\":\"x\",\"Cmd\":{}}",
     "invalid JSON: json: cannot unmarshal object into Go struct field CreateRequest.Config.Cmd "
     "of type string"},
    {0, "{\"Tty\":\"x\",\"Image\":5}",
     "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Config.Tty "
     "of type bool"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":\"1\"}]}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "Ulimit.HostConfig.Resources.Ulimits.Soft of type int64"},
    {0, "{\"Image\":\"x\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"Aliases\":\"a\"}}}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "EndpointSettings.NetworkingConfig.EndpointsConfig.Aliases of type []string"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":1.5}}",
     "invalid JSON: json: cannot unmarshal number 1.5 into Go struct field "
     "HostConfig.HostConfig.Resources.Memory of type int64"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"ConsoleSize\":[1,-1]}}",
     "invalid JSON: json: cannot unmarshal number -1 into Go struct field "
     "HostConfig.HostConfig.ConsoleSize of type uint"},
    {0, "{\"Image\":\"x\",\"ExposedPorts\":{\"80/tcp\":\"\"}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "CreateRequest.Config.ExposedPorts of type struct {}"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"TmpfsOptions\":{\"Mode\":\"x\"}}]}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "TmpfsOptions.HostConfig.Mounts.TmpfsOptions.Mode of type fs.FileMode"},
    {0, "{\"Image\":\"x\",\"Env\":\"A=1\"}",
     "invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Config.Env "
     "of type []string"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"MaximumRetryCount\":\"3\"}}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "RestartPolicy.HostConfig.RestartPolicy.MaximumRetryCount of type int"},
    {0, "{\"Image\":\"x\",\"Labels\":{\"a\":1}}",
     "invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Config.Labels "
     "of type string"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CapAdd\":[1]}}",
     "invalid JSON: json: cannot unmarshal array into Go struct field HostConfig.HostConfig.CapAdd "
     "of type string"},
    {0, "{\"Image\":\"x\",\"Healthcheck\":\"x\"}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "CreateRequest.Config.Healthcheck of type v1.HealthcheckConfig"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":{\"HostPort\":\"1\"}}}}",
     "invalid JSON: json: cannot unmarshal object into Go struct field "
     "HostConfig.HostConfig.PortBindings of type []nat.PortBinding"},
    {0, "{\"Image\":\"x\",\"Volumes\":[\"/data\"]}",
     "invalid JSON: json: cannot unmarshal array into Go struct field CreateRequest.Config.Volumes "
     "of type map[string]struct {}"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"BlkioWeightDevice\":[{\"Weight\":70000}]}}",
     "invalid JSON: json: cannot unmarshal number 70000 into Go struct field "
     "WeightDevice.HostConfig.Resources.BlkioWeightDevice.Weight of type uint16"},
    {0, "{\"Image\":\"x\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"IPAMConfig\":{"
        "\"LinkLocalIPs\":[1]}}}}}",
     "invalid JSON: json: cannot unmarshal number into Go struct field "
     "EndpointIPAMConfig.NetworkingConfig.EndpointsConfig.IPAMConfig.LinkLocalIPs of type string"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":10,\"memory\":\"x\"}}",
     "invalid JSON: json: cannot unmarshal string into Go struct field "
     "HostConfig.HostConfig.Resources.Memory of type int64"},
    {0, "\"str\"",
     "invalid JSON: json: cannot unmarshal string into Go value of type container.CreateRequest"},
    /* null is left alone on scalars and empties slices: these decode (then need a Config) */
    {0, "{\"Image\":\"x\",\"Shell\":[null],\"Cmd\":null,\"Env\":null,\"HostConfig\":null}",
     NULL},
    {0, "null", "config cannot be empty in order to create a container"},
    /* keys match case-insensitively, so this reaches the memory check */
    {0, "{\"image\":\"x\",\"hostconfig\":{\"memory\":1}}", "Minimum memory limit allowed is 6MB"},

    /* ---- runconfig and the create route ---- */
    {0, "{}", "config cannot be empty in order to create a container"},
    {0, "{\"HostConfig\":{}}", "config cannot be empty in order to create a container"},
    {0, "{\"HostConfig\":{\"NetworkMode\":\"container:\"}}",
     "invalid network mode: invalid container format container:<name|id>"},
    {0, "{\"Image\":\"x\",\"Hostname\":\"h\",\"HostConfig\":{\"NetworkMode\":\"container:abc\"}}",
     "conflicting options: hostname and the network mode"},
    {0, "{\"Image\":\"x\",\"Hostname\":\"h\",\"HostConfig\":{\"UTSMode\":\"host\"}}",
     "conflicting options: hostname and the UTS mode"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"host\",\"Links\":[\"a:b\"]}}",
     "conflicting options: host type networking can't be used with links. This would result in "
     "undefined behavior"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"container:a\",\"PortBindings\":{\"80/"
        "tcp\":[]}}}",
     "conflicting options: port publishing and the container type network mode"},
    {0, "{\"Image\":\"x\",\"ExposedPorts\":{\"80/tcp\":{}},\"HostConfig\":{\"NetworkMode\":"
        "\"container:a\"}}",
     "conflicting options: port exposing and the container type network mode"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Isolation\":\"hyperv\"}}",
     "invalid isolation (hyperv): linux only supports 'default'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpuShares\":-1}}",
     "invalid CPU shares (-1): value must be a positive integer"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpuRealtimePeriod\":1000}}",
     "kernel does not support CPU real-time scheduler"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"IOMaximumBandwidth\":1}}",
     "invalid option: QoS maximum bandwidth configuration is not supported on linux"},
    {43, "{\"Image\":\"x\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"a\":{},\"b\":{}}}}",
     "Container cannot be created with multiple network endpoints: a, b"},
    {44, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\","
         "\"Target\":\"/m\",\"VolumeOptions\":{}}]}}",
     "VolumeOptions must not be specified on mount type \"bind\""},
    {47, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"image\",\"Source\":\"i\","
         "\"Target\":\"/m\"}]}}",
     "Mount type \"Image\" needs API v1.48 or newer"},
    {44, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\","
         "\"Target\":\"/m\",\"VolumeOptions\":{\"Subpath\":\"a\"}}]}}",
     "VolumeOptions.Subpath needs API v1.45 or newer"},
    {43, "{\"Image\":\"x\",\"MacAddress\":\"02:42:ac:11:00:02\",\"HostConfig\":{\"NetworkMode\":"
         "\"host\"}}",
     "conflicting options: mac-address and the network mode"},
    {48, "{\"Image\":\"x\",\"HostConfig\":{\"Sysctls\":{\"net.ipv4.conf.eth0.forwarding\":\"1\"}}}",
     "interface specific sysctl setting \"net.ipv4.conf.eth0.forwarding\" must be supplied using "
     "driver option 'com.docker.network.endpoint.sysctls'"},

    /* ---- Config ---- */
    {0, "{\"Image\":\"x\",\"WorkingDir\":\"rel\"}",
     "the working directory 'rel' is invalid, it needs to be an absolute path"},
    {0, "{\"Image\":\"x\",\"StopSignal\":\"SIGFOO\"}", "invalid signal: SIGFOO"},
    {0, "{\"Image\":\"x\",\"StopSignal\":\"0\"}", "invalid signal: 0"},
    {0, "{\"Image\":\"x\",\"Env\":[\"A=1\",\"=x\"]}", "invalid environment variable: =x"},
    {0, "{\"Image\":\"x\",\"Healthcheck\":{\"Interval\":100}}",
     "Interval in Healthcheck cannot be less than 1ms"},
    {0, "{\"Image\":\"x\",\"Healthcheck\":{\"Retries\":-1}}",
     "Retries in Healthcheck cannot be negative"},
    {0, "{\"Image\":\"x\",\"Healthcheck\":{\"StartPeriod\":5}}",
     "StartPeriod in Healthcheck cannot be less than 1ms"},

    /* ---- HostConfig ---- */
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":"
        "\"always\"}}}",
     "can't create 'AutoRemove' container with restart policy"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/"
        "nonexistent-arca-test\",\"Target\":\"/m\"}]}}",
     "invalid mount config for type \"bind\": bind source path does not exist: "
     "/nonexistent-arca-test"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\"}]}}",
     "invalid mount config for type \"volume\": field Target must not be empty"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"tmpfs\",\"Target\":\"tmp\"}]}}",
     "invalid mount config for type \"tmpfs\": invalid mount path: 'tmp' mount path must be "
     "absolute"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"foo\",\"Target\":\"/m\"}]}}",
     "invalid mount config for type \"foo\": mount type unknown"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/\"}]}}",
     "invalid mount config for type \"volume\": invalid specification: destination can't be '/'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"tmpfs\",\"Source\":\"s\","
        "\"Target\":\"/m\"}]}}",
     "invalid mount config for type \"tmpfs\": field Source must not be specified"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/m\","
        "\"ReadOnly\":true}]}}",
     "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous "
     "volumes"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\","
        "\"Target\":\"/m\",\"BindOptions\":{\"Propagation\":\"up\"}}]}}",
     "invalid mount config for type \"bind\": invalid propagation mode: up"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"ExtraHosts\":[\"foo\"]}}",
     "bad format for add-host: \"foo\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"ExtraHosts\":[\"foo:1.2.3\"]}}",
     "invalid IP address in add-host: \"1.2.3\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"abc/tcp\":[]}}}",
     "invalid port specification: \"abc\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":"
        "\"70000\"}]}}}",
     "invalid port specification: \"70000\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"9000-"
        "8000\"}]}}}",
     "invalid port specification: \"9000-8000\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"sometimes\"}}}",
     "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', "
     "'on-failure', or 'unless-stopped'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\","
        "\"MaximumRetryCount\":3}}}",
     "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\","
        "\"MaximumRetryCount\":-1}}}",
     "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot "
     "be negative"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\","
        "\"MaximumRetryCount\":-1}}}",
     "invalid restart policy: maximum retry count cannot be negative"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CapAdd\":[\"NET_ADMIN\",\"FOO\"]}}",
     "invalid CapAdd: unknown capability: \"CAP_FOO\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CapDrop\":\"bar\"}}",
     "invalid CapDrop: unknown capability: \"CAP_BAR\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Annotations\":{\"\":\"x\"}}}",
     "invalid Annotations: the empty string is not permitted as an annotation key"},

    /* ---- resources (2 CPUs, cgroup v2) ---- */
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":1000}}",
     "Minimum memory limit allowed is 6MB"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":-1}}", "Minimum memory limit allowed is 6MB"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":10485760,\"MemorySwap\":8388608}}",
     "Minimum memoryswap limit should be larger than memory limit, see usage"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"MemorySwap\":8388608}}",
     "You should always set the Memory limit when using Memoryswap limit, see usage"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"MemoryReservation\":1000}}",
     "Minimum memory reservation allowed is 6MB"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Memory\":10485760,\"MemoryReservation\":20971520}}",
     "Minimum memory limit can not be less than memory reservation limit, see usage"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":1000000000,\"CpuPeriod\":100000}}",
     "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":1000000000,\"CpuQuota\":100000}}",
     "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NanoCpus\":3000000000}}",
     "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpuPeriod\":500}}",
     "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpuQuota\":500}}",
     "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpusetCpus\":\"0-99\"}}",
     "Requested CPUs are not available - requested 0-99, available: 0-1"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpusetCpus\":\"a\"}}",
     "Invalid value a for cpuset cpus: invalid format: a"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpusetCpus\":\"0-9000\"}}",
     "Invalid value 0-9000 for cpuset cpus: value of out range, maximum is 8192"},
    /* dockerd compares memory nodes with the CPU list: "1" passes on 2 CPUs, "5" does not */
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpusetMems\":\"1\"}}", NULL},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CpusetMems\":\"5\"}}",
     "Requested memory nodes are not available - requested 5, available: 0"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"BlkioWeight\":5}}",
     "Range of blkio weight is from 10 to 1000"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"IpcMode\":\"foo\"}}", "invalid IPC mode: foo"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PidMode\":\"container:\"}}",
     "invalid PID mode: container:"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"ShmSize\":-1}}", "SHM size can not be less than 0"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"UTSMode\":\"private\"}}",
     "invalid UTS mode: private"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"OomScoreAdj\":1001}}",
     "Invalid value 1001, range for oom score adj is [-1000, 1000]"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Runtime\":\"kata\"}}",
     "unknown or invalid runtime name: kata"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Tmpfs\":{\"relative\":\"\"}}}",
     "invalid mount path: 'relative' mount path must be absolute"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Tmpfs\":{\"/\":\"\"}}}",
     "invalid specification: destination can't be '/'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"CgroupnsMode\":\"x\"}}",
     "invalid cgroup namespace mode: x"},

    /* ---- endpoints ---- */
    {0, "{\"Image\":\"x\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"bridge\":{\"IPAMConfig\":{"
        "\"IPv4Address\":\"172.17.0.9\"}}}}}",
     "invalid config for network bridge: invalid endpoint settings:\nuser specified IP address "
     "is supported on user defined networks only"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"mynet\"},\"NetworkingConfig\":{"
        "\"EndpointsConfig\":{\"mynet\":{\"IPAMConfig\":{\"IPv4Address\":\"300.1.1.1\"}}}}}",
     "invalid config for network mynet: invalid endpoint settings:\ninvalid IPv4 address: "
     "300.1.1.1"},
    {0, "{\"Image\":\"x\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"bridge\":{\"Aliases\":["
        "\"a\"],\"IPAMConfig\":{\"IPv6Address\":\"1.2.3.4\"}}}}}",
     "invalid config for network bridge: invalid endpoint settings:\n* user specified IP address "
     "is supported on user defined networks only\n* network-scoped alias is supported only for "
     "containers in user defined networks\n* invalid IPv6 address: 1.2.3.4"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"mynet\"},\"NetworkingConfig\":{"
        "\"EndpointsConfig\":{\"mynet\":null}}}",
     "invalid config for network mynet: EndpointsConfig is nil"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"NetworkMode\":\"mynet\"},\"NetworkingConfig\":{"
        "\"EndpointsConfig\":{\"mynet\":{\"MacAddress\":\"zz\"}}}}",
     "invalid config for network mynet: invalid MAC address zz"},

    /* ---- daemon.create: logs, security options, binds ---- */
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"syslog\"}}}",
     "logger: no log driver named 'syslog' is registered"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"LogConfig\":{\"Config\":{\"foo\":\"1\"}}}}",
     "unknown log opt 'foo' for json-file log driver"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{"
        "\"mode\":\"fast\"}}}}",
     "logger: logging mode not supported: fast"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"foo\"]}}",
     "invalid --security-opt 1: \"foo\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"SecurityOpt\":[\"foo=bar\"]}}",
     "invalid --security-opt 2: \"foo=bar\""},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a:/b:xyz\"]}}", "invalid mode: xyz"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\":/b\"]}}",
     "invalid volume specification: ':/b'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a:rel\"]}}",
     "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": invalid "
     "mount path: 'rel' mount path must be absolute"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a:/\"]}}",
     "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid "
     "specification: destination can't be '/'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a:/b\",\"/c:/b/\"]}}",
     "Duplicate mount point: /b"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"vol:/data:rshared\"]}}",
     "invalid volume specification: 'vol:/data:rshared': invalid mount config for type "
     "\"volume\": field BindOptions must not be specified"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/a:/b:ro:z\"]}}",
     "invalid volume specification: '/a:/b:ro:z'"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"VolumesFrom\":[\"x:rshared\"]}}",
     "invalid mode: rshared"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Ulimits\":[{\"Name\":\"foo\",\"Soft\":1,\"Hard\":1}]}}",
     "invalid ulimit type: foo"},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Ulimits\":[{\"Name\":\"nofile\",\"Soft\":10,"
        "\"Hard\":5}]}}",
     "ulimit soft limit must be less than or equal to hard limit: 10 > 5"},

    /* ---- accepted ---- */
    {0, "{\"Image\":\"busybox\"}", NULL},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"\"}],"
        "\"81/tcp\":[{\"HostPort\":\"0\"}],\"82\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":"
        "\"8000-8010\"}]}}}",
     NULL},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/tmp:/data:ro,rshared\",\"vol:/v:nocopy\","
        "\"/anon\"]}}",
     NULL},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\","
        "\"Target\":\"/m\"},{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":"
        "1048576}}]}}",
     NULL},
    {0, "{\"Image\":\"x\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\","
        "\"MaximumRetryCount\":3},\"NanoCpus\":1500000000,\"Memory\":67108864,\"PidsLimit\":-1,"
        "\"CapAdd\":[\"sys_admin\",\"ALL\"],\"ExtraHosts\":[\"gw:host-gateway\",\"v6:::1\"]}}",
     NULL},
    {43, "{\"Image\":\"x\",\"MacAddress\":\"02:42:ac:11:00:02\",\"HostConfig\":{\"NetworkMode\":"
         "\"bridge\"}}",
     NULL},
    {0, "{\"Image\":\"x\",\"Cmd\":\"ls\",\"Entrypoint\":null,\"StopSignal\":\"rtmin+3\","
        "\"Healthcheck\":{\"Test\":[\"CMD\",\"true\"],\"Interval\":1000000}}",
     NULL},
};

static host_limits test_host(int cgroup_version) {
  host_limits h;
  host_limits_init(&h, cgroup_version, 2, (int64_t)8 << 30);
  return h;
}

static void test_create_table(void **state) {
  (void)state;
  host_limits h = test_host(2);
  int failures = 0;
  for (size_t i = 0; i < sizeof create_cases / sizeof create_cases[0]; i++) {
    const create_case *c = &create_cases[i];
    json_error_t jerr;
    autojson json_t *body = json_loads(c->body, JSON_DECODE_ANY, &jerr);
    assert_non_null(body);
    arca_err err = {0};
    int rc = container_config_validate(body, &h, c->api ? c->api : 51, &err);
    if (c->msg) {
      if (rc == 0 || err.status != 400 || strcmp(err.msg, c->msg) != 0) {
        fprintf(stderr, "case %zu %s\n  want 400 %s\n  got  %d %d %s\n", i, c->body, c->msg, rc,
                err.status, err.msg);
        failures++;
      }
    } else if (rc != 0) {
      fprintf(stderr, "case %zu %s\n  want success\n  got  %d %s\n", i, c->body, err.status,
              err.msg);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
  assert_true(sizeof create_cases / sizeof create_cases[0] >= 60);
}

/* The host decides what is discarded with a warning rather than refused. */
static void test_host_dependent(void **state) {
  (void)state;
  host_limits v1 = test_host(1), v2 = test_host(2);
  autojson json_t *swappiness =
      json_loads("{\"Image\":\"x\",\"HostConfig\":{\"MemorySwappiness\":200}}", 0, NULL);
  arca_err err;
  assert_int_equal(container_config_validate(swappiness, &v1, 51, &err), -1);
  assert_string_equal(err.msg, "Invalid value: 200, valid memory swappiness range is 0-100");
  container_create_spec spec;
  assert_int_equal(container_create_prepare(swappiness, &v2, 51, &spec, &err), 0);
  assert_string_equal(json_string_value(json_array_get(spec.warnings, 0)),
                      "Your kernel does not support memory swappiness capabilities or the cgroup "
                      "is not mounted. Memory swappiness discarded.");
  assert_true(json_is_null(json_object_get(spec.host_config, "MemorySwappiness")));
  container_create_spec_free(&spec);

  host_limits nomem = test_host(2);
  nomem.memory = false;
  nomem.ipv4_forwarding = false;
  autojson json_t *mem =
      json_loads("{\"Image\":\"x\",\"HostConfig\":{\"Memory\":67108864}}", 0, NULL);
  assert_int_equal(container_create_prepare(mem, &nomem, 51, &spec, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(spec.host_config, "Memory")), 0);
  assert_int_equal(json_integer_value(json_object_get(spec.host_config, "MemorySwap")), -1);
  assert_int_equal(json_array_size(spec.warnings), 2);
  assert_string_equal(json_string_value(json_array_get(spec.warnings, 1)),
                      "IPv4 forwarding is disabled. Networking will not work.");
  container_create_spec_free(&spec);

  host_limits systemd = test_host(2);
  systemd.systemd_cgroup = true;
  autojson json_t *parent =
      json_loads("{\"Image\":\"x\",\"HostConfig\":{\"CgroupParent\":\"foo\"}}", 0, NULL);
  assert_int_equal(container_config_validate(parent, &systemd, 51, &err), -1);
  assert_string_equal(err.msg, "cgroup-parent for systemd cgroup should be a valid slice named "
                               "as \"xxx.slice\"");
  assert_int_equal(container_config_validate(parent, &v2, 51, &err), 0);

  static const char *const runtimes[] = {"runc", "crun", NULL};
  host_limits rt = test_host(2);
  rt.runtimes = runtimes;
  autojson json_t *crun =
      json_loads("{\"Image\":\"x\",\"HostConfig\":{\"Runtime\":\"crun\"}}", 0, NULL);
  assert_int_equal(container_config_validate(crun, &rt, 51, &err), 0);
  assert_int_equal(container_config_validate(crun, &v2, 51, &err), -1);

  host_limits root = test_host(2);
  root.daemon_root = "/var/lib/arca";
  autojson json_t *under = json_loads(
      "{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"/var/lib/arca/x:/x:private\"]}}", 0, NULL);
  assert_int_equal(container_config_validate(under, &root, 51, &err), -1);
  assert_string_equal(err.msg,
                      "invalid mount config: must use either propagation mode \"rslave\" or "
                      "\"rshared\" when mount source is within the daemon root, daemon root: "
                      "\"/var/lib/arca\", bind mount source: \"/var/lib/arca/x\", propagation: "
                      "\"private\"");
}

static json_t *prepare_hc(const char *body, int api, int cgroup_version,
                          container_create_spec *spec) {
  host_limits h = test_host(cgroup_version);
  autojson json_t *b = json_loads(body, 0, NULL);
  assert_non_null(b);
  arca_err err = {0};
  int rc = container_create_prepare(b, &h, api, spec, &err);
  if (rc < 0) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(rc, 0);
  return spec->host_config;
}

static void assert_json(const json_t *v, const char *want) {
  autojson json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
  assert_non_null(w);
  if (!json_equal(v, w)) {
    autofree char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    fprintf(stderr, "want %s\ngot  %s\n", want, got);
  }
  assert_true(json_equal(v, w));
}

static void test_defaults(void **state) {
  (void)state;
  container_create_spec spec;
  json_t *hc = prepare_hc("{\"Image\":\"busybox\"}", 51, 2, &spec);
  assert_string_equal(json_string_value(json_object_get(hc, "NetworkMode")), "bridge");
  assert_json(json_object_get(hc, "RestartPolicy"), "{\"Name\":\"no\",\"MaximumRetryCount\":0}");
  assert_json(json_object_get(hc, "LogConfig"), "{\"Type\":\"json-file\",\"Config\":{}}");
  assert_int_equal(json_integer_value(json_object_get(hc, "ShmSize")), 67108864);
  assert_string_equal(json_string_value(json_object_get(hc, "IpcMode")), "private");
  assert_string_equal(json_string_value(json_object_get(hc, "CgroupnsMode")), "private");
  assert_true(json_is_false(json_object_get(hc, "OomKillDisable")));
  assert_string_equal(json_string_value(json_object_get(hc, "Runtime")), "runc");
  assert_json(json_object_get(hc, "ConsoleSize"), "[0,0]");
  assert_json(json_object_get(hc, "PortBindings"), "{}");
  assert_json(json_object_get(spec.config, "Volumes"), "{}");
  assert_json(spec.networking_config, "{\"EndpointsConfig\":{}}");
  assert_json(spec.warnings, "[]");
  container_create_spec_free(&spec);

  /* cgroup v1, old API: host cgroupns, shareable IPC, no console size, no annotations */
  hc = prepare_hc("{\"Image\":\"x\",\"HostConfig\":{\"ConsoleSize\":[24,80],\"Annotations\":{"
                  "\"a\":\"b\"}}}",
                  39, 1, &spec);
  assert_string_equal(json_string_value(json_object_get(hc, "CgroupnsMode")), "host");
  assert_string_equal(json_string_value(json_object_get(hc, "IpcMode")), "shareable");
  assert_json(json_object_get(hc, "ConsoleSize"), "[0,0]");
  assert_null(json_object_get(hc, "Annotations"));
  container_create_spec_free(&spec);

  /* memory swap doubles, PidsLimit 0 means none, default endpoint renamed, Cmd as array,
   * keys canonical, unknown keys gone, working dir cleaned */
  hc = prepare_hc("{\"image\":\"x\",\"cmd\":\"ls\",\"WorkingDir\":\"/a/b/../c/\",\"Bogus\":1,"
                  "\"HostConfig\":{\"memory\":67108864,\"PidsLimit\":0,\"NetworkMode\":"
                  "\"default\",\"ConsoleSize\":[24,80],\"RestartPolicy\":{\"Name\":\"\"}},"
                  "\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"Aliases\":[]}}}}",
                  51, 2, &spec);
  assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 67108864);
  assert_int_equal(json_integer_value(json_object_get(hc, "MemorySwap")), 134217728);
  assert_null(json_object_get(hc, "PidsLimit"));
  assert_json(json_object_get(hc, "ConsoleSize"), "[24,80]");
  assert_string_equal(json_string_value(json_object_get(hc, "NetworkMode")), "bridge");
  assert_json(json_object_get(hc, "RestartPolicy"), "{\"Name\":\"no\",\"MaximumRetryCount\":0}");
  assert_json(spec.networking_config, "{\"EndpointsConfig\":{\"bridge\":{\"Aliases\":[]}}}");
  assert_json(json_object_get(spec.config, "Cmd"), "[\"ls\"]");
  assert_string_equal(json_string_value(json_object_get(spec.config, "Image")), "x");
  assert_string_equal(json_string_value(json_object_get(spec.config, "WorkingDir")), "/a/c");
  assert_null(json_object_get(spec.config, "Bogus"));
  container_create_spec_free(&spec);

  /* the container-wide MAC address moves to the main endpoint, with dockerd's warning */
  prepare_hc("{\"Image\":\"x\",\"MacAddress\":\"02:42:ac:11:00:02\"}", 51, 2, &spec);
  assert_json(spec.networking_config,
              "{\"EndpointsConfig\":{\"bridge\":{\"MacAddress\":\"02:42:ac:11:00:02\"}}}");
  assert_null(json_object_get(spec.config, "MacAddress"));
  assert_json(spec.warnings, "[\"The container-wide MacAddress field is now deprecated. It "
                             "should be specified in EndpointsConfig instead.\"]");
  container_create_spec_free(&spec);

  /* eth0 sysctls move to the endpoint's driver options before API 1.48 */
  hc = prepare_hc("{\"Image\":\"x\",\"HostConfig\":{\"Sysctls\":{\"net.ipv6.conf.eth0."
                  "disable_ipv6\":\"0\",\"kernel.msgmax\":\"1\"}}}",
                  47, 2, &spec);
  assert_json(json_object_get(hc, "Sysctls"), "{\"kernel.msgmax\":\"1\"}");
  assert_json(spec.networking_config,
              "{\"EndpointsConfig\":{\"bridge\":{\"DriverOpts\":{\"com.docker.network.endpoint."
              "sysctls\":\"net.ipv6.conf.IFNAME.disable_ipv6=0\"}}}}");
  assert_string_equal(json_string_value(json_array_get(spec.warnings, 0)),
                      "Migrated sysctl \"net.ipv6.conf.eth0.disable_ipv6\" to "
                      "DriverOpts{\"com.docker.network.endpoint.sysctls\":\"net.ipv6.conf.IFNAME."
                      "disable_ipv6=0\"}.");
  container_create_spec_free(&spec);

  /* container_hostconfig_defaults alone keeps what is set */
  autojson json_t *given = json_loads("{\"NetworkMode\":\"host\",\"ShmSize\":1048576,\"IpcMode\":"
                                      "\"host\",\"Runtime\":\"crun\",\"PidsLimit\":-1}",
                                      0, NULL);
  container_hostconfig_defaults(given, "runc", 1);
  assert_string_equal(json_string_value(json_object_get(given, "NetworkMode")), "host");
  assert_int_equal(json_integer_value(json_object_get(given, "ShmSize")), 1048576);
  assert_string_equal(json_string_value(json_object_get(given, "IpcMode")), "host");
  assert_string_equal(json_string_value(json_object_get(given, "Runtime")), "crun");
  assert_string_equal(json_string_value(json_object_get(given, "CgroupnsMode")), "host");
  assert_true(json_is_null(json_object_get(given, "PidsLimit")));
}

static void test_update(void **state) {
  (void)state;
  host_limits h = test_host(2);
  arca_err err;
  autojson json_t *hc = json_loads(
      "{\"Memory\":67108864,\"MemorySwap\":134217728,\"CpuPeriod\":100000,\"CpuShares\":0,"
      "\"AutoRemove\":false,\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0}}",
      0, NULL);
  autojson json_t *before = json_deep_copy(hc);
  static const struct {
    const char *body;
    int status;
    const char *msg;
  } bad[] = {
      {"{\"Memory\":268435456}", 409,
       "Cannot update container abc: Memory limit should be smaller than already set memoryswap "
       "limit, update the memoryswap at the same time"},
      {"{\"NanoCpus\":1000000000}", 409,
       "Cannot update container abc: Conflicting options: Nano CPUs cannot be updated as CPU "
       "Period has already been set"},
      {"{\"Memory\":1000}", 400, "Minimum memory limit allowed is 6MB"},
      {"{\"RestartPolicy\":{\"Name\":\"maybe\"}}", 400,
       "invalid restart policy: unknown policy 'maybe'; use one of 'no', 'always', 'on-failure', "
       "or 'unless-stopped'"},
      {"{\"Memory\":\"x\"}", 400,
       "invalid JSON: json: cannot unmarshal string into Go struct field "
       "UpdateConfig.Resources.Memory of type int64"},
      {"{\"RestartPolicy\":{\"Name\":5}}", 400,
       "invalid JSON: json: cannot unmarshal number into Go struct field "
       "RestartPolicy.RestartPolicy.Name of type container.RestartPolicyMode"},
      {"{\"BlkioWeight\":2000}", 400, "Range of blkio weight is from 10 to 1000"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    autojson json_t *u = json_loads(bad[i].body, 0, NULL);
    assert_int_equal(container_update_apply(hc, u, &h, "abc", 51, NULL, &err), -1);
    assert_int_equal(err.status, bad[i].status);
    assert_string_equal(err.msg, bad[i].msg);
    assert_true(json_equal(hc, before));
  }

  autojson json_t *auto_rm = json_loads("{\"AutoRemove\":true}", 0, NULL);
  autojson json_t *always = json_loads("{\"RestartPolicy\":{\"Name\":\"always\"}}", 0, NULL);
  assert_int_equal(container_update_apply(auto_rm, always, &h, "abc", 51, NULL, &err), -1);
  assert_int_equal(err.status, 409);
  assert_string_equal(err.msg, "Cannot update container abc: Restart policy cannot be updated "
                               "because AutoRemove is enabled for the container");

  /* swap alone is fine on update; zeros leave settings alone; PidsLimit -1 becomes 0 */
  autojson json_t *ok = json_loads(
      "{\"MemorySwap\":268435456,\"CpuShares\":512,\"PidsLimit\":-1,\"Memory\":0,"
      "\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":2}}",
      0, NULL);
  autojson json_t *warnings = json_array();
  assert_int_equal(container_update_apply(hc, ok, &h, "abc", 51, warnings, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 67108864);
  assert_int_equal(json_integer_value(json_object_get(hc, "MemorySwap")), 268435456);
  assert_int_equal(json_integer_value(json_object_get(hc, "CpuShares")), 512);
  assert_int_equal(json_integer_value(json_object_get(hc, "PidsLimit")), 0);
  assert_json(json_object_get(hc, "RestartPolicy"),
              "{\"Name\":\"on-failure\",\"MaximumRetryCount\":2}");
  assert_json(warnings, "[]");
  /* now Memory may grow up to the new swap */
  autojson json_t *grow = json_loads("{\"Memory\":201326592}", 0, NULL);
  assert_int_equal(container_update_apply(hc, grow, &h, "abc", 51, NULL, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(hc, "Memory")), 201326592);
}

static void test_binds(void **state) {
  (void)state;
  bind_spec b;
  arca_err err;
  assert_int_equal(bind_spec_parse("/host//dir/:/ctr/./x:ro,rshared", &b, &err), 0);
  assert_string_equal(b.type, "bind");
  assert_string_equal(b.source, "/host/dir");
  assert_string_equal(b.destination, "/ctr/x");
  assert_string_equal(b.mode, "ro,rshared");
  assert_string_equal(b.propagation, "rshared");
  assert_true(b.read_only);
  bind_spec_free(&b);

  assert_int_equal(bind_spec_parse("data:/var/lib/data:nocopy", &b, &err), 0);
  assert_string_equal(b.type, "volume");
  assert_string_equal(b.source, "data");
  assert_null(b.propagation);
  assert_false(b.read_only);
  assert_false(b.copy_data);
  bind_spec_free(&b);

  assert_int_equal(bind_spec_parse("/anon", &b, &err), 0);
  assert_string_equal(b.type, "volume");
  assert_null(b.source);
  assert_string_equal(b.destination, "/anon");
  assert_true(b.copy_data);
  bind_spec_free(&b);

  assert_int_equal(bind_spec_parse("/src:/dst", &b, &err), 0);
  assert_string_equal(b.propagation, "rprivate");
  assert_string_equal(b.mode, "");
  bind_spec_free(&b);

  static const struct {
    const char *spec, *msg;
  } bad[] = {
      {"/foo:rw", "invalid volume specification: '/foo:rw'"},
      {"/a:/b:ro,rw", "invalid mode: ro,rw"},
      {"/a:/b:ro,", "invalid mode: ro,"},
      {"", "invalid volume specification: ''"},
      {"/a:/b:nocopy",
       "invalid volume specification: '/a:/b:nocopy': invalid mount config for type \"bind\": "
       "field VolumeOptions must not be specified"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(bind_spec_parse(bad[i].spec, &b, &err), -1);
    assert_int_equal(err.status, 400);
    assert_string_equal(err.msg, bad[i].msg);
  }
}

static void test_ports(void **state) {
  (void)state;
  autojson json_t *exposed = json_loads(
      "{\"80/tcp\":{},\"53/udp\":{},\"9000/tcp\":{},\"7000/tcp\":{}}", 0, NULL);
  autojson json_t *bindings = json_loads(
      "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"},{\"HostPort\":\"\"}],"
      "\"53/udp\":[{\"HostPort\":\"0\"}],\"9000/tcp\":[{\"HostPort\":\"9000-9010\"}],"
      "\"1234/tcp\":[{\"HostPort\":\"1234\"}]}",
      0, NULL);
  port_mapping *m;
  size_t n;
  arca_err err;
  assert_int_equal(container_ports_list(exposed, bindings, false, &m, &n, &err), 0);
  /* one of the orders dockerd gives (its sort depends on Go's map order); 1234 is bound but
   * not exposed, so dropped; a port's bindings stay together */
  assert_int_equal(n, 5);
  assert_int_equal(m[0].container_port, 9000);
  assert_int_equal(m[0].host_port_start, 9000);
  assert_int_equal(m[0].host_port_end, 9010);
  assert_int_equal(m[1].container_port, 7000);
  assert_false(m[1].published);
  assert_int_equal(m[2].container_port, 80);
  assert_true(m[2].published);
  assert_int_equal(m[2].host_port_start, 0); /* "" picks a free port */
  assert_string_equal(m[2].host_ip, "");
  assert_int_equal(m[3].container_port, 80);
  assert_string_equal(m[3].host_ip, "127.0.0.1");
  assert_int_equal(m[3].host_port_start, 8080);
  assert_int_equal(m[4].container_port, 53);
  assert_string_equal(m[4].proto, "udp");
  assert_true(m[4].published);
  assert_int_equal(m[4].host_port_start, 0); /* "0" too */
  free(m);

  assert_int_equal(container_ports_list(exposed, NULL, true, &m, &n, &err), 0);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) assert_true(m[i].published);
  free(m);

  autojson json_t *bad = json_loads("{\"80/tcp\":[{\"HostPort\":\"x\"}]}", 0, NULL);
  assert_int_equal(port_bindings_validate(bad, &err), -1);
  assert_string_equal(err.msg, "invalid port specification: \"x\"");
}

static void test_pieces(void **state) {
  (void)state;
  arca_err err;
  char name[16];
  int retries = -5;
  autojson json_t *rp = json_loads("{\"Name\":\"on-failure\",\"MaximumRetryCount\":5}", 0, NULL);
  assert_int_equal(restart_policy_parse(rp, name, &retries, &err), 0);
  assert_string_equal(name, "on-failure");
  assert_int_equal(retries, 5);
  assert_int_equal(restart_policy_parse(NULL, name, &retries, &err), 0);
  assert_string_equal(name, "no");
  autojson json_t *legacy = json_loads("{\"Name\":\"\",\"MaximumRetryCount\":3}", 0, NULL);
  assert_int_equal(restart_policy_parse(legacy, name, &retries, &err), 0);
  assert_string_equal(name, "no");

  assert_int_equal(container_name_validate("/web_1.a-b", &err), 0);
  assert_int_equal(container_name_validate("ab", &err), 0);
  static const char *const bad_names[] = {"a", "/a", "-ab", "a b", "a/b", ""};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
    assert_int_equal(container_name_validate(bad_names[i], &err), -1);
    char want[128];
    snprintf(want, sizeof want,
             "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
             bad_names[i]);
    assert_string_equal(err.msg, want);
  }

  autojson json_t *m = json_loads("{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/x\","
                                  "\"BindOptions\":{\"CreateMountpoint\":true}}",
                                  0, NULL);
  assert_int_equal(mount_spec_validate(m, &err), 0);
  json_object_set_new(m, "Source", json_string("/nonexistent-arca-test"));
  assert_int_equal(mount_spec_validate(m, &err), 0); /* CreateMountpoint */
  json_object_del(m, "BindOptions");
  assert_int_equal(mount_spec_validate(m, &err), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_table), cmocka_unit_test(test_host_dependent),
      cmocka_unit_test(test_defaults),     cmocka_unit_test(test_update),
      cmocka_unit_test(test_binds),        cmocka_unit_test(test_ports),
      cmocka_unit_test(test_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

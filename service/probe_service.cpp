// The probe service: sockets, workers, output and HTTP (see probe_service.hpp).
#include "probe_service.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "sibilant/analyze.hpp"
#include "sibilant/error.hpp"
#include "snapshot.hpp"
#include "spsc_ring.hpp"

namespace sibilant::service {

namespace {

double monotonic_s() noexcept {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double thread_cpu_s() noexcept {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double unix_s() noexcept {
    timespec t{};
    clock_gettime(CLOCK_REALTIME, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

struct HostPort {
    std::string host;
    std::string port;
};

HostPort split_host_port(const std::string& what, const std::string& address) {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size())
        throw Error(what + " " + address + ": expected HOST:PORT, e.g. 127.0.0.1:5004 or [::1]:5004");
    std::string host = address.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port = address.substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoi(port) > 65535)
        throw Error(what + " " + address + ": port " + port + " is not a number in [0, 65535]");
    if (host.empty()) throw Error(what + " " + address + ": no host (use 0.0.0.0 or [::] for every interface)");
    return {host, port};
}

std::string sockaddr_text(const sockaddr_storage& ss) {
    RemoteEndpoint e;
    if (ss.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
        e.ipv6 = true;
        std::memcpy(e.address.data(), &a.sin6_addr, 16);
        e.port = ntohs(a.sin6_port);
    } else {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
        std::memcpy(e.address.data(), &a.sin_addr, 4);
        e.port = ntohs(a.sin_port);
    }
    char text[64];
    format_endpoint(e, text, sizeof text);
    return text;
}

RemoteEndpoint endpoint_of(const sockaddr_storage& ss) noexcept {
    RemoteEndpoint e;
    if (ss.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(ss);
        // An IPv4 sender on a dual-stack socket: keep it IPv4, as it is.
        if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {
            std::memcpy(e.address.data(), reinterpret_cast<const std::uint8_t*>(&a.sin6_addr) + 12, 4);
        } else {
            e.ipv6 = true;
            std::memcpy(e.address.data(), &a.sin6_addr, 16);
        }
        e.port = ntohs(a.sin6_port);
    } else if (ss.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(ss);
        std::memcpy(e.address.data(), &a.sin_addr, 4);
        e.port = ntohs(a.sin_port);
    }
    return e;
}

// A bound UDP socket.
struct UdpSocket {
    int fd = -1;
    std::string bound;  // as bound, port resolved

    UdpSocket(const std::string& address) {
        const HostPort hp = split_host_port("--listen", address);
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_DGRAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        addrinfo* found = nullptr;
        if (const int rc = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found); rc != 0)
            throw Error("--listen " + address + ": " + gai_strerror(rc));
        std::string why = "no address";
        for (addrinfo* a = found; a && fd < 0; a = a->ai_next) {
            const int s = socket(a->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (s < 0) {
                why = std::strerror(errno);
                continue;
            }
            // A burst of a thousand streams must not overflow the kernel's
            // queue while the reader is busy: ask for 8 MiB (the kernel caps
            // it at net.core.rmem_max).
            const int rcvbuf = 8 << 20;
            setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
            // The kernel's count of datagrams it dropped on this socket comes
            // with each datagram read: the overload the service cannot see.
            const int on = 1;
            setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on);
            if (bind(s, a->ai_addr, a->ai_addrlen) != 0) {
                why = std::strerror(errno);
                close(s);
                continue;
            }
            fd = s;
        }
        freeaddrinfo(found);
        if (fd < 0) throw Error("--listen " + address + ": cannot bind: " + why);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
        bound = sockaddr_text(ss);
    }
    ~UdpSocket() {
        if (fd >= 0) close(fd);
    }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
};

// Datagrams handed from the reader to a worker. Larger ones than a slot
// cannot be Opus RTP that anyone sends (Opus packets are at most 3825 bytes),
// and are counted as oversize by the reader.
constexpr std::size_t kSlotBytes = 8192;
struct DatagramSlot {
    std::uint16_t size = 0;
    RemoteEndpoint from{};
    double arrival_s = 0;
    std::array<std::uint8_t, kSlotBytes> bytes{};
};

// An event on its way to the output thread; strings reserved at set-up.
constexpr std::size_t kWhyCapacity = 4096;
struct EventRecord {
    SibilantEventResult event;
    std::uint32_t ssrc = 0;
    std::array<char, 64> remote{};
    std::int64_t serial = 0;
    double arrival_s = 0;
};

// Slots' strings are reserved at set-up, so this copy assignment reuses
// them: no allocation unless a reason outgrows kWhyCapacity, which no
// formatter of sibilant's comes near (their sentences are under 600 bytes).
void copy_event(const SibilantEventResult& from, SibilantEventResult& to) noexcept { to = from; }

// Worker state. The triple buffer: the worker fills `back`, then swaps it
// with `middle` and marks it fresh; a reader swaps a fresh `middle` with its
// `front`. Neither ever waits for the other.
struct Worker {
    RtpMonitor monitor;
    std::unique_ptr<SpscRing<DatagramSlot>> inbox;  // only with threads > 1
    SpscRing<EventRecord> events;
    std::array<WorkerSnapshot, 3> snapshots;
    std::atomic<int> middle{1};  // index | kFresh
    int back = 0, front = 2;     // back: the worker's; front: the readers' (under their mutex)
    static constexpr int kFresh = 4;
    AnalysisSummary scratch;
    std::atomic<std::int64_t> events_dropped{0};
    double processing_s = 0;
    double last_publish_s = -1e9, last_expire_s = -1e9;
    bool blocking_events = false;  // at shutdown, wait for room instead of dropping
    std::atomic<bool> done{false};
    std::thread thread;

    Worker(const RtpMonitorConfig& config, std::size_t inbox_slots, std::size_t event_slots)
        : monitor(config, sinks()), events(event_slots) {
        if (inbox_slots) inbox = std::make_unique<SpscRing<DatagramSlot>>(inbox_slots);
        for (auto& s : snapshots) s.streams.resize(std::size_t(config.max_streams));
        for (auto& r : events.slots()) {
            r.event.why.reserve(kWhyCapacity);
            r.event.cls.reserve(16);
        }
        scratch.verdict.reserve(64);
    }

    RtpMonitorSinks sinks() {
        RtpMonitorSinks s;
        s.context = this;
        s.event = [](void* c, const RtpStream& stream, const SibilantEventResult& e, double arrival_s) {
            static_cast<Worker*>(c)->enqueue_event(stream, e, arrival_s);
        };
        return s;
    }

    void enqueue_event(const RtpStream& stream, const SibilantEventResult& e, double arrival_s) noexcept {
        EventRecord* r = events.claim();
        while (!r && blocking_events) {
            std::this_thread::yield();
            r = events.claim();
        }
        if (!r) {
            events_dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        copy_event(e, r->event);
        r->ssrc = stream.ssrc();
        std::memcpy(r->remote.data(), stream.remote_text(), r->remote.size());
        r->serial = stream.serial();
        r->arrival_s = arrival_s;
        events.publish();
    }

    void publish(double now_s) noexcept {
        WorkerSnapshot& s = snapshots[std::size_t(back)];
        take_snapshot(monitor, s, scratch);
        s.events_dropped = events_dropped.load(std::memory_order_relaxed);
        s.processing_s = processing_s;
        back = middle.exchange(back | kFresh, std::memory_order_acq_rel) & 3;
        last_publish_s = now_s;
    }

    // Readers (holding the service's snapshot mutex): the latest snapshot.
    const WorkerSnapshot& latest() noexcept {
        if (middle.load(std::memory_order_acquire) & kFresh)
            front = middle.exchange(front, std::memory_order_acq_rel) & 3;
        return snapshots[std::size_t(front)];
    }

    // Idle expiry every 100 ms and publishing on its interval.
    void tick(double now_s, double publish_interval_s) noexcept {
        if (now_s - last_expire_s >= 0.1) {
            const double t0 = thread_cpu_s();
            monitor.expire_idle(now_s);
            processing_s += thread_cpu_s() - t0;
            last_expire_s = now_s;
        }
        if (now_s - last_publish_s >= publish_interval_s) publish(now_s);
    }

    void finish(double now_s) noexcept {
        blocking_events = true;
        const double t0 = thread_cpu_s();
        monitor.finish(now_s);
        processing_s += thread_cpu_s() - t0;
        publish(now_s);
        done.store(true, std::memory_order_release);
    }
};

// One /events client: lines waiting to be sent.
struct EventClient {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<std::string> lines;
    bool closed = false;
};

}  // namespace

void validate(const ServiceConfig& c) {
    if (c.listen.empty()) throw Error("--listen: at least one address is needed");
    if (c.threads < 1 || c.threads > 64) throw Error("--threads " + std::to_string(c.threads) + " is outside [1, 64]");
    if (!(c.publish_interval_s >= 0.01 && c.publish_interval_s <= 10))
        throw Error("publish interval " + std::to_string(c.publish_interval_s) + " s is outside [0.01, 10] s");
    if (c.max_event_clients < 1 || c.max_event_clients > 64)
        throw Error("event clients " + std::to_string(c.max_event_clients) + " is outside [1, 64]");
    sibilant::validate(c.monitor);
}

struct ProbeService::Impl {
    ServiceConfig config;
    std::vector<std::unique_ptr<UdpSocket>> sockets;
    std::vector<std::unique_ptr<Worker>> workers;
    int events_fd = -1;  // --events FILE: O_APPEND, one write() per line
    bool events_failing = false;  // the last write to events_fd failed (output thread only)
    bool events_to_stdout = false;
    httplib::Server http;
    int http_port = 0;
    std::string http_bound;
    std::thread http_thread, output_thread;
    std::atomic<bool> stopping{false};
    std::atomic<bool> output_done{false};
    std::atomic<bool> reader_done{false};  // set after the reader's last dispatch
    double started_unix_s = unix_s();
    double monotonic_to_unix_s = unix_s() - monotonic_s();

    // Reader-owned counters, read by HTTP handlers.
    std::atomic<std::int64_t> datagrams_received{0}, queue_full{0}, reader_oversize{0}, receive_buffer_full{0};

    // Snapshots are read under this mutex: HTTP handlers only.
    std::mutex snapshot_mutex;

    std::mutex clients_mutex;
    std::vector<std::shared_ptr<EventClient>> clients;
    std::atomic<std::int64_t> clients_refused{0}, lines_dropped{0};
    static constexpr std::size_t kClientBacklog = 4096;

    explicit Impl(ServiceConfig c) : config(std::move(c)) {
        validate(config);
        if (config.events_path == "-") {
            events_to_stdout = true;
        } else if (!config.events_path.empty()) {
            events_fd = open_events_file(config.events_path);
        }
        for (const auto& address : config.listen) sockets.push_back(std::make_unique<UdpSocket>(address));

        RtpMonitorConfig per_worker = config.monitor;
        per_worker.max_streams = (config.monitor.max_streams + config.threads - 1) / config.threads;
        const std::size_t inbox = config.threads > 1 ? 1024 : 0;
        for (int i = 0; i < config.threads; ++i) workers.push_back(std::make_unique<Worker>(per_worker, inbox, 1024));

        if (!config.http.empty()) set_up_http();
        std::vector<std::string> udp;
        for (const auto& s : sockets) udp.push_back(s->bound);
        if (config.on_ready) config.on_ready(udp, http_bound);
    }

    ~Impl() {
        if (events_fd >= 0) ::close(events_fd);
    }

    // Opens --events for appending. A file that an earlier run left with a
    // torn last line (killed by an older version, a full disk) gets a newline
    // first, so that the lines appended now stay whole JSON lines.
    static int open_events_file(const std::string& path) {
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EACCES) fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd < 0) throw Error("--events " + path + ": " + std::strerror(errno));
        struct stat st {};
        char last = '\n';
        if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            ::pread(fd, &last, 1, st.st_size - 1) != 1)
            last = '\n';  // write-only: nothing to check
        if (last != '\n' && !write_all(fd, "\n", 1)) {
            const int error_number = errno;
            ::close(fd);
            throw Error("--events " + path + ": " + std::strerror(error_number));
        }
        return fd;
    }

    static bool write_all(int fd, const char* data, std::size_t size) {
        while (size > 0) {
            const ssize_t n = ::write(fd, data, size);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data += n;
            size -= std::size_t(n);
        }
        return true;
    }

    ProcessFigures figures() {
        ProcessFigures p;
        p.datagrams_received = datagrams_received.load(std::memory_order_relaxed);
        p.queue_full = queue_full.load(std::memory_order_relaxed);
        p.reader_oversize = reader_oversize.load(std::memory_order_relaxed);
        p.receive_buffer_full = receive_buffer_full.load(std::memory_order_relaxed);
        {
            std::lock_guard lock(clients_mutex);
            p.event_clients = std::int64_t(clients.size());
        }
        p.event_clients_refused = clients_refused.load(std::memory_order_relaxed);
        p.event_lines_dropped = lines_dropped.load(std::memory_order_relaxed);
        p.window_s = config.monitor.window_s;
        p.started_at_unix_s = started_unix_s;
        p.monotonic_to_unix_s = monotonic_to_unix_s;
        return p;
    }

    template <class Render>
    std::string render(Render&& r) {
        const ProcessFigures p = figures();
        std::lock_guard lock(snapshot_mutex);
        std::vector<const WorkerSnapshot*> latest;
        for (auto& w : workers) latest.push_back(&w->latest());
        return r(latest, p);
    }

    void set_up_http() {
        const HostPort hp = split_host_port("--http", config.http);
        const int pool = config.max_event_clients + 4;  // /events holds a thread per client
        http.new_task_queue = [pool] { return new httplib::ThreadPool(std::size_t(pool)); };
        // httplib's default adds SO_REUSEPORT, which lets a second probe share the
        // port and silently take half the scrapes; keep only SO_REUSEADDR (restart
        // while old connections sit in TIME_WAIT).
        http.set_socket_options([](socket_t sock) {
            int yes = 1;
            ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        });
        http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(render(render_metrics), "text/plain; version=0.0.4; charset=utf-8");
        });
        http.Get("/streams", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(render(render_streams), "application/json");
        });
        http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(stopping ? "stopping\n" : "ok\n", "text/plain");
            res.status = stopping ? 503 : 200;
        });
        http.Get("/events", [this](const httplib::Request&, httplib::Response& res) { serve_events(res); });
        const int port = std::stoi(hp.port);
        const bool bound = port == 0 ? (http_port = http.bind_to_any_port(hp.host)) > 0
                                     : http.bind_to_port(hp.host, http_port = port);
        if (!bound) throw Error("--http " + config.http + ": cannot bind (address in use, or not an address of this host)");
        const bool v6 = hp.host.find(':') != std::string::npos;
        http_bound = (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(http_port);
    }

    void serve_events(httplib::Response& res) {
        auto client = std::make_shared<EventClient>();
        {
            std::lock_guard lock(clients_mutex);
            if (clients.size() >= std::size_t(config.max_event_clients) || stopping) {
                clients_refused.fetch_add(1, std::memory_order_relaxed);
                res.status = 503;
                res.set_content("too many /events clients\n", "text/plain");
                return;
            }
            clients.push_back(client);
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, client](std::size_t, httplib::DataSink& sink) {
                std::deque<std::string> batch;
                bool closed = false;
                {
                    std::unique_lock lock(client->mutex);
                    client->ready.wait_for(lock, std::chrono::seconds(1),
                                           [&] { return !client->lines.empty() || client->closed; });
                    batch.swap(client->lines);
                    closed = client->closed;
                }
                // A comment line keeps proxies from closing an idle stream.
                if (batch.empty() && !closed) return sink.write(": keep-alive\n\n", 14);
                for (const auto& line : batch)
                    if (!sink.write(line.data(), line.size())) return false;
                if (closed) sink.done();
                return true;
            },
            [this, client](bool) {
                std::lock_guard lock(clients_mutex);
                clients.erase(std::remove(clients.begin(), clients.end(), client), clients.end());
            });
    }

    void broadcast(const std::string& json_line, std::int64_t id) {
        std::lock_guard lock(clients_mutex);
        if (clients.empty()) return;
        const std::string message = "id: " + std::to_string(id) + "\ndata: " + json_line + "\n\n";
        for (auto& c : clients) {
            std::lock_guard client_lock(c->mutex);
            if (c->lines.size() >= kClientBacklog) {
                c->lines.pop_front();
                lines_dropped.fetch_add(1, std::memory_order_relaxed);
            }
            c->lines.push_back(message);
            c->ready.notify_one();
        }
    }

    void close_clients() {
        std::lock_guard lock(clients_mutex);
        for (auto& c : clients) {
            std::lock_guard client_lock(c->mutex);
            c->closed = true;
            c->ready.notify_one();
        }
    }

    // The output thread: every worker's events, in arrival order per worker.
    void output_loop() {
        std::int64_t id = 0;
        for (;;) {
            bool any = false;
            bool all_done = true;
            for (auto& w : workers) {
                const bool done_before = w->done.load(std::memory_order_acquire);
                while (EventRecord* r = w->events.front()) {
                    any = true;
                    char ssrc[16];
                    std::snprintf(ssrc, sizeof ssrc, "0x%08" PRIx32, r->ssrc);
                    const std::string event = event_to_json(r->event, /*no_reference=*/true);
                    std::string line = std::string("{\"ssrc\":\"") + ssrc + "\",\"remote\":\"" + r->remote.data() +
                                       "\",\"stream_serial\":" + std::to_string(r->serial) + ",\"received_at\":\"" +
                                       iso8601_utc(r->arrival_s + monotonic_to_unix_s) + "\"," + event.substr(1);
                    w->events.pop();
                    write_line(line);
                    broadcast(line, ++id);
                }
                // Done and drained: its events are all out (done is set after its last event).
                if (!done_before) all_done = false;
            }
            if (!any) {
                flush();
                if (all_done) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
        flush();
        output_done.store(true, std::memory_order_release);
        close_clients();
    }

    // The file gets each line, newline included, in one write() on an
    // O_APPEND descriptor: nothing waits in a buffer, so a process killed at
    // any moment (SIGKILL, a crash) leaves only whole lines, every event
    // written so far. stdout stays buffered per batch of events.
    void write_line(std::string& line) {
        if (events_fd >= 0) {
            line += '\n';
            // A full disk may cut the line short (the next start puts a
            // newline after it); it costs the line, not the service, but
            // is said, or events would vanish unnoticed.
            const bool written = write_all(events_fd, line.data(), line.size());
            const int error_number = errno;
            line.pop_back();
            if (written == events_failing && config.on_events_error)
                config.on_events_error(written ? "--events " + config.events_path + ": writing again"
                                               : "--events " + config.events_path + ": write failed (" +
                                                     std::strerror(error_number) + "); events are lost until it works");
            events_failing = !written;
        } else if (events_to_stdout) {
            std::fwrite(line.data(), 1, line.size(), stdout);
            std::fputc('\n', stdout);
        }
    }
    void flush() {
        if (events_to_stdout) std::fflush(stdout);
    }

    // The reader. Batches of recvmmsg; with one worker it also probes.
    void read_loop() {
        constexpr int kBatch = 32;
        constexpr std::size_t kBufferBytes = 65536;  // any UDP datagram
        std::vector<std::uint8_t> buffers(kBatch * kBufferBytes);
        std::array<mmsghdr, kBatch> messages{};
        std::array<iovec, kBatch> iov{};
        std::array<sockaddr_storage, kBatch> from{};
        union Control {
            cmsghdr header;
            char bytes[CMSG_SPACE(sizeof(std::uint32_t))];
        };
        std::array<Control, kBatch> control{};
        std::vector<std::uint32_t> kernel_drops(sockets.size(), 0);  // SO_RXQ_OVFL, cumulative per socket
        std::vector<pollfd> fds;
        for (auto& s : sockets) fds.push_back(pollfd{s->fd, POLLIN, 0});
        const bool inline_worker = workers.size() == 1;
        Worker& only = *workers.front();

        while (!stopping.load(std::memory_order_acquire)) {
            const int ready = poll(fds.data(), nfds_t(fds.size()), 20);
            const double now = monotonic_s();
            if (ready > 0) {
                for (std::size_t socket_index = 0; socket_index < fds.size(); ++socket_index) {
                    const pollfd& fd = fds[socket_index];
                    if (!(fd.revents & POLLIN)) continue;
                    // A few batches per socket per turn: one busy socket
                    // cannot starve the others.
                    for (int round = 0; round < 8; ++round) {
                        for (int i = 0; i < kBatch; ++i) {
                            iov[std::size_t(i)] = {buffers.data() + std::size_t(i) * kBufferBytes, kBufferBytes};
                            messages[std::size_t(i)].msg_hdr = {};
                            messages[std::size_t(i)].msg_hdr.msg_iov = &iov[std::size_t(i)];
                            messages[std::size_t(i)].msg_hdr.msg_iovlen = 1;
                            messages[std::size_t(i)].msg_hdr.msg_name = &from[std::size_t(i)];
                            messages[std::size_t(i)].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
                            messages[std::size_t(i)].msg_hdr.msg_control = &control[std::size_t(i)];
                            messages[std::size_t(i)].msg_hdr.msg_controllen = sizeof(Control);
                        }
                        const int got = recvmmsg(fd.fd, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
                        if (got <= 0) break;
                        const double arrival = monotonic_s();
                        datagrams_received.fetch_add(got, std::memory_order_relaxed);
                        note_kernel_drops(messages[std::size_t(got - 1)].msg_hdr, kernel_drops[socket_index]);
                        const double t0 = inline_worker ? thread_cpu_s() : 0;
                        for (int i = 0; i < got; ++i) {
                            const std::span<const std::uint8_t> d(buffers.data() + std::size_t(i) * kBufferBytes,
                                                                  messages[std::size_t(i)].msg_len);
                            const RemoteEndpoint source = endpoint_of(from[std::size_t(i)]);
                            if (inline_worker) only.monitor.push(d, source, arrival);
                            else dispatch(d, source, arrival);
                        }
                        if (inline_worker) only.processing_s += thread_cpu_s() - t0;
                        if (got < kBatch) break;
                    }
                }
            }
            if (inline_worker) only.tick(now, config.publish_interval_s);
        }
        reader_done.store(true, std::memory_order_release);
        if (inline_worker) only.finish(monotonic_s());
    }

    // The kernel's drop count is cumulative per socket and rides on a
    // datagram only once some were dropped; the newest read carries the latest.
    void note_kernel_drops(msghdr& header, std::uint32_t& last) noexcept {
        for (cmsghdr* c = CMSG_FIRSTHDR(&header); c; c = CMSG_NXTHDR(&header, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
            std::uint32_t total = 0;
            std::memcpy(&total, CMSG_DATA(c), sizeof total);
            if (total != last) {
                receive_buffer_full.fetch_add(std::int64_t(std::uint32_t(total - last)), std::memory_order_relaxed);
                last = total;
            }
        }
    }

    void dispatch(std::span<const std::uint8_t> d, const RemoteEndpoint& source, double arrival) noexcept {
        if (d.size() > kSlotBytes) {
            reader_oversize.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        // The SSRC's place in every RTP header; anything shorter goes to
        // worker 0, whose monitor counts it as truncated.
        std::uint32_t ssrc = 0;
        if (d.size() >= 12) ssrc = (std::uint32_t(d[8]) << 24) | (std::uint32_t(d[9]) << 16) | (std::uint32_t(d[10]) << 8) | d[11];
        Worker& w = *workers[ssrc % workers.size()];
        DatagramSlot* slot = w.inbox->claim();
        if (!slot) {
            queue_full.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        slot->size = std::uint16_t(d.size());
        slot->from = source;
        slot->arrival_s = arrival;
        std::memcpy(slot->bytes.data(), d.data(), d.size());
        w.inbox->publish();
    }

    void worker_loop(Worker& w) {
        for (;;) {
            const bool reader_stopped = reader_done.load(std::memory_order_acquire);
            int handled = 0;
            const double t0 = thread_cpu_s();
            while (DatagramSlot* slot = w.inbox->front()) {
                w.monitor.push(std::span<const std::uint8_t>(slot->bytes.data(), slot->size), slot->from, slot->arrival_s);
                w.inbox->pop();
                if (++handled == 256) break;
            }
            w.processing_s += thread_cpu_s() - t0;
            w.tick(monotonic_s(), config.publish_interval_s);
            // The reader had stopped before this pass began, so an empty
            // inbox now stays empty.
            if (reader_stopped && !w.inbox->front()) break;
            if (handled == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        w.finish(monotonic_s());
    }

    void run() {
        if (!config.http.empty()) http_thread = std::thread([this] { http.listen_after_bind(); });
        output_thread = std::thread([this] { output_loop(); });
        if (workers.size() > 1)
            for (auto& w : workers) w->thread = std::thread([this, &w] { worker_loop(*w); });
        read_loop();
        for (auto& w : workers)
            if (w->thread.joinable()) w->thread.join();
        output_thread.join();
        if (http_thread.joinable()) {
            // Let /events clients see their stream end before the server goes.
            for (int i = 0; i < 100; ++i) {
                {
                    std::lock_guard lock(clients_mutex);
                    if (clients.empty()) break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            // httplib's stop() does nothing until listen has begun (it only
            // closes a running server's socket): a service stopped right
            // after it started would leave the HTTP thread in accept()
            // forever. Its socket is bound already, so that is moments away.
            for (int i = 0; i < 5000 && !http.is_running(); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            http.stop();
            http_thread.join();
        }
        sockets.clear();
    }
};

ProbeService::ProbeService(ServiceConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
ProbeService::~ProbeService() = default;
void ProbeService::run() { impl_->run(); }
void ProbeService::stop() noexcept { impl_->stopping.store(true, std::memory_order_release); }

}  // namespace sibilant::service

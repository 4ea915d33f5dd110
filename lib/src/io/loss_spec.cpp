// Command-line loss specs ("none", "bernoulli:P", "ge:P,R[,LG,LB]",
// "trace:FILE") and trace files.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sibilant/error.hpp"
#include "sibilant/loss.hpp"

namespace sibilant {

namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

// The whole of `text` must be one finite number.
bool parse_number(const std::string& text, double& value) {
    if (text.empty()) return false;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto result = std::from_chars(first, last, value);
    return result.ec == std::errc() && result.ptr == last && std::isfinite(value);
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) return parts;
        start = end + 1;
    }
}

std::vector<std::uint8_t> read_trace_file(const std::string& path) {
    // A folder opens as a stream that fails on the first read: name it for what it is.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw Error("trace file " + path + ": is a folder, not a trace file");
    std::ifstream in(path);
    if (!in) throw Error("trace file " + path + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<std::uint8_t> flags;
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        const std::size_t comment = line.find('#');
        if (comment != std::string::npos) line.resize(comment);
        std::size_t pos = 0;
        while (true) {
            pos = line.find_first_not_of(" \t\r\v\f", pos);
            if (pos == std::string::npos) break;
            const std::size_t end = std::min(line.find_first_of(" \t\r\v\f", pos), line.size());
            const std::string token = line.substr(pos, end - pos);
            if (token == "0" || token == "1") {
                flags.push_back(token == "1" ? 1 : 0);
            } else {
                throw Error("trace file " + path + " line " + std::to_string(line_number) + ": bad token \"" +
                            token + "\" (expected 0 = received or 1 = lost)");
            }
            pos = end;
        }
    }
    if (in.bad()) throw Error("trace file " + path + ": read error");
    if (flags.empty()) throw Error("trace file " + path + ": empty trace (no 0/1 flags)");
    return flags;
}

}  // namespace

LossModelConfig parse_loss_spec(const std::string& spec) {
    const std::string quoted = "loss spec \"" + spec + "\": ";
    const std::size_t colon = spec.find(':');
    const std::string kind = lower(spec.substr(0, colon));
    const std::string args = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
    const bool has_args = colon != std::string::npos;

    LossModelConfig config;
    if (kind == "none") {
        if (has_args) throw Error(quoted + "\"none\" takes no parameters");
        config.kind = LossKind::None;
    } else if (kind == "bernoulli") {
        config.kind = LossKind::Bernoulli;
        if (!has_args || !parse_number(args, config.loss_probability))
            throw Error(quoted + "expected bernoulli:P with P a loss probability in 0..1");
    } else if (kind == "ge") {
        config.kind = LossKind::GilbertElliott;
        const std::vector<std::string> parts = split(args, ',');
        if (!has_args || (parts.size() != 2 && parts.size() != 4))
            throw Error(quoted + "expected ge:P,R or ge:P,R,LOSS_GOOD,LOSS_BAD (probabilities in 0..1)");
        double* fields[4] = {&config.p_good_to_bad, &config.r_bad_to_good, &config.loss_in_good,
                             &config.loss_in_bad};
        const char* names[4] = {"P", "R", "LOSS_GOOD", "LOSS_BAD"};
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (!parse_number(parts[i], *fields[i]))
                throw Error(quoted + names[i] + " \"" + parts[i] + "\" is not a number");
        }
    } else if (kind == "trace") {
        config.kind = LossKind::Trace;
        if (args.empty()) throw Error(quoted + "expected trace:FILE");
        config.trace = read_trace_file(args);
        config.trace_source = args;
    } else {
        throw Error(quoted + "unknown loss model \"" + kind + "\" (expected none, bernoulli:P, ge:P,R[,LOSS_GOOD,LOSS_BAD] or trace:FILE)");
    }

    try {
        validate(config);
    } catch (const Error& e) {
        throw Error(quoted + e.what());
    }
    return config;
}

}  // namespace sibilant

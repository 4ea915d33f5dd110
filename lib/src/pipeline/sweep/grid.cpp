// Grids: a base and lists of values, expanded to every combination in the
// order the keys are written (last key fastest), each profile named after its
// values.
#include "pipeline/sweep/sweep_internal.hpp"
#include "sibilant/error.hpp"

namespace sibilant::sweep_internal {

void expand_grid(const ProfileParser& parser, const ordered_json& grid, std::size_t index,
                 std::vector<SweepProfile>& out) {
    const std::string& source = parser.source;
    std::string where = source + ": grid " + std::to_string(index + 1);
    if (!grid.is_object()) throw Error(where + ": expected an object {\"name\", \"base\", \"vary\"}");
    if (!grid.contains("name") || !grid["name"].is_string()) throw Error(where + ": needs a \"name\" (a string)");
    const std::string name = grid["name"].get<std::string>();
    where = source + ": grid '" + name + "'";
    check_name(name, where);
    for (const auto& [key, value] : grid.items())
        if (key != "name" && key != "base" && key != "vary")
            throw Error(where + ": key '" + key + "': unknown key (expected name, base, vary)");

    SweepProfile base;
    base.name = name;
    if (grid.contains("base")) {
        const ordered_json& b = grid["base"];
        if (!b.is_object()) throw Error(where + ": key 'base': expected an object of settings");
        parser.apply_all(base, b, where + " (base)");
    }
    if (!grid.contains("vary") || !grid["vary"].is_object() || grid["vary"].empty())
        throw Error(where + ": key 'vary': expected an object of setting -> list of values");
    std::vector<std::pair<std::string, std::vector<ordered_json>>> axes;
    for (const auto& [key, values] : grid["vary"].items()) {
        const std::string key_where = where + ": key 'vary." + key + "'";
        if (!is_setting_key(key)) throw Error(key_where + ": unknown setting (expected one of " + setting_keys_text() + ")");
        if (grid.contains("base") && grid["base"].contains(key))
            throw Error(key_where + ": also set in base; set it in one place");
        if (!values.is_array() || values.empty()) throw Error(key_where + ": expected a non-empty list of values");
        axes.emplace_back(key, std::vector<ordered_json>(values.begin(), values.end()));
    }

    // Odometer over the axes, last key fastest.
    std::vector<std::size_t> at(axes.size(), 0);
    while (true) {
        SweepProfile p = base;
        std::string suffix;
        for (std::size_t a = 0; a < axes.size(); ++a) {
            const auto& [key, values] = axes[a];
            try {
                parser.apply(p, key, values[at[a]]);
            } catch (const Error& e) {
                throw Error(where + ": key 'vary." + key + "' value " + values[at[a]].dump() + ": " + e.what());
            }
            suffix += (a ? "," : "") + key + "=" + setting_text(p, key);
        }
        p.name = name + "/" + suffix;
        out.push_back(std::move(p));
        std::size_t a = axes.size();
        while (a > 0 && ++at[a - 1] == axes[a - 1].second.size()) at[--a] = 0;
        if (a == 0) break;
    }
}

}  // namespace sibilant::sweep_internal

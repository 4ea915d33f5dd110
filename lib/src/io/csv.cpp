#include "io/csv.hpp"

#include <algorithm>
#include <filesystem>

#include "sibilant/error.hpp"

namespace sibilant {

std::ifstream open_csv_file(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw Error(path + ": no such file");
    if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not a CSV file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open for reading");
    return in;
}

std::string csv_trim(const std::string& s) {
    const char* blanks = " \t\r\n\f\v";
    const std::size_t first = s.find_first_not_of(blanks);
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

std::vector<std::string> split_csv_line(const std::string& line, const std::string& where) {
    std::vector<std::string> fields;
    std::size_t pos = 0;
    while (true) {
        std::string field;
        // Skip blanks before a field so that `a, "b"` is two fields.
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
        if (pos < line.size() && line[pos] == '"') {
            ++pos;
            bool closed = false;
            while (pos < line.size()) {
                if (line[pos] == '"') {
                    if (pos + 1 < line.size() && line[pos + 1] == '"') {
                        field += '"';
                        pos += 2;
                        continue;
                    }
                    closed = true;
                    ++pos;
                    break;
                }
                field += line[pos++];
            }
            if (!closed) throw Error(where + ": unterminated quote");
            while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
            if (pos < line.size() && line[pos] != ',')
                throw Error(where + ": unexpected text after a quoted field");
        } else {
            const std::size_t comma = line.find(',', pos);
            const std::size_t end = comma == std::string::npos ? line.size() : comma;
            field = csv_trim(line.substr(pos, end - pos));
            pos = end;
        }
        fields.push_back(std::move(field));
        if (pos >= line.size()) break;
        ++pos;  // the comma
    }
    return fields;
}

bool CsvRecordReader::next(std::string& record) {
    record.clear();
    std::string line;
    bool have_line = false;
    // An odd number of quote characters so far means a quoted field is still
    // open ("" inside a field counts two), so the record goes on.
    std::size_t quotes = 0;
    while (std::getline(in_, line)) {
        ++lines_read_;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (lines_read_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
        if (!have_line) record_line_ = lines_read_;
        else record += '\n';
        record += line;
        have_line = true;
        quotes += static_cast<std::size_t>(std::count(line.begin(), line.end(), '"'));
        if (quotes % 2 == 0) return true;
    }
    return have_line;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

}  // namespace sibilant

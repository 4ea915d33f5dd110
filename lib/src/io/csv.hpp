// CSV (RFC 4180 quoting): reading, shared by the batch pair list and the
// sweep results reader so that both accept the same files, and the one field
// writer of the analysis and sweep tables.
#pragma once

#include <cstddef>
#include <fstream>
#include <istream>
#include <string>
#include <vector>

namespace sibilant {

/// One field for writing (RFC 4180): quoted when it holds a comma, a quote or
/// a line break, quotes doubled.
std::string csv_field(const std::string& text);

/// Opens a CSV file for reading. Throws Error naming `path` when it does not
/// exist, is a folder or cannot be opened.
std::ifstream open_csv_file(const std::string& path);

/// `s` without leading and trailing blanks (space, tab, CR, LF, FF, VT).
std::string csv_trim(const std::string& s);

/// Splits one CSV record into fields. Fields may be double-quoted ("" inside
/// quotes is one quote; a quoted field may hold commas and line breaks).
/// Unquoted fields are trimmed, quoted ones kept as written. Throws Error
/// starting with `where` on an unterminated quote or text after a closing quote.
std::vector<std::string> split_csv_line(const std::string& record, const std::string& where);

/// Reads a CSV file record by record. A record is one line, or several when a
/// quoted field holds a line break (the sweep's error messages may). Strips a
/// UTF-8 byte-order mark at the start and the CR of CRLF line ends.
class CsvRecordReader {
public:
    explicit CsvRecordReader(std::istream& in) : in_(in) {}
    /// The next record, without its line end; false at the end of the input.
    /// An unterminated quote runs to the end of the input, and split_csv_line
    /// then reports it.
    bool next(std::string& record);
    /// The 1-based line on which the last record returned by next() began.
    std::size_t line() const { return record_line_; }

private:
    std::istream& in_;
    std::size_t lines_read_ = 0;
    std::size_t record_line_ = 0;
};

}  // namespace sibilant

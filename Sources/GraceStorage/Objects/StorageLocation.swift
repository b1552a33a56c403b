import Foundation

/// Where an object store is: a folder (a path or `file:///path`) or an S3 bucket prefix
/// (`s3://bucket/prefix?endpoint=...&region=...`). Parsed once, at the edge; opening an S3
/// location needs the S3 backend, which lives in its own target.
public enum StorageLocation: Sendable, Hashable, CustomStringConvertible {
    case folder(URL)
    case s3(S3Location)

    public init(parsing text: String) throws {
        if text.hasPrefix("file://") {
            guard let url = URL(string: text), url.isFileURL, !url.path.isEmpty else {
                throw InvalidLocation(text: text, reason: "is not a file:// URL with a path")
            }
            if let host = url.host, !host.isEmpty, host != "localhost" {
                throw InvalidLocation(text: text, reason: "names host \(host); a local folder is file:///path, with three slashes")
            }
            self = .folder(url.standardizedFileURL)
        } else if text.hasPrefix("s3://") {
            self = .s3(try S3Location(parsing: text))
        } else if text.contains("://") {
            let scheme = text.components(separatedBy: "://")[0]
            throw InvalidLocation(text: text, reason: "uses \(scheme)://; a location is a folder path, file:///path or s3://bucket/prefix")
        } else if let scheme = Self.knownSchemes.first(where: { text.hasPrefix($0 + ":") }) {
            throw InvalidLocation(text: text, reason: "starts like a \(scheme):// URL but lacks its \"//\"")
        } else if text.isEmpty {
            throw InvalidLocation(text: text, reason: "is empty")
        } else {
            self = .folder(URL(fileURLWithPath: text).standardizedFileURL)
        }
    }

    /// Equal when they name the same place: a folder's URL may or may not end in a slash
    /// (`URL(fileURLWithPath:)` adds one only when the folder exists), its path is what counts.
    public static func == (lhs: StorageLocation, rhs: StorageLocation) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// Schemes a location may use or a deployment may: a path starting with one and a colon is a typo.
    static let knownSchemes = ["file", "s3", "postgres", "postgresql", "http", "https"]

    public var description: String {
        switch self {
        case let .folder(url): "file://\(url.path)"
        case let .s3(location): location.description
        }
    }

    public var isFolder: Bool {
        if case .folder = self { true } else { false }
    }

    /// A location inside this one: a sub-folder, or a longer key prefix.
    public func appending(_ component: String) -> StorageLocation {
        switch self {
        case let .folder(url): return .folder(url.appendingPathComponent(component))
        case var .s3(location):
            location.prefix += component + "/"
            return .s3(location)
        }
    }
}

/// An S3 bucket prefix and the service that holds it. Credentials are never part of it: they come
/// from the environment or a profile file, so a location can be logged and stored.
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    public var bucket: String
    /// Empty, or ending in `/`.
    public var prefix: String
    /// The service's base URL; nil means AWS itself (from `AWS_ENDPOINT_URL`, else the region's endpoint).
    public var endpoint: URL?
    /// nil means `AWS_REGION`, `AWS_DEFAULT_REGION`, else us-east-1.
    public var region: String?
    /// A named profile of the shared credentials file; nil means the environment, else `default`.
    public var profile: String?

    public init(bucket: String, prefix: String = "", endpoint: URL? = nil, region: String? = nil, profile: String? = nil) {
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.endpoint = endpoint
        self.region = region
        self.profile = profile
    }

    static let parameters: Set<String> = ["endpoint", "region", "profile"]

    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), components.scheme == "s3" else {
            throw InvalidLocation(text: text, reason: "is not an s3://bucket/prefix URL")
        }
        if components.user != nil || components.password != nil {
            throw InvalidLocation(text: "s3://…", reason: "holds credentials; give them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile, never in a location")
        }
        guard let bucket = components.host, !bucket.isEmpty else {
            throw InvalidLocation(text: text, reason: "names no bucket (s3://bucket/prefix)")
        }
        try Self.checkBucketName(bucket, in: text)
        if components.port != nil {
            throw InvalidLocation(text: text, reason: "has a port after the bucket name; a service's address goes in ?endpoint=http://host:port")
        }
        var endpoint: URL?
        var region: String?
        var profile: String?
        for item in components.queryItems ?? [] {
            guard Self.parameters.contains(item.name) else {
                throw InvalidLocation(text: text, reason: "has an unknown parameter \(item.name); known: \(Self.parameters.sorted().joined(separator: ", "))")
            }
            guard let value = item.value, !value.isEmpty else { throw InvalidLocation(text: text, reason: "has an empty \(item.name)") }
            switch item.name {
            case "endpoint":
                guard let url = URL(string: value), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty else {
                    throw InvalidLocation(text: text, reason: "has endpoint \(value), which is not an http:// or https:// URL with a host")
                }
                guard url.user == nil, url.password == nil else {
                    throw InvalidLocation(text: "s3://…", reason: "holds credentials in its endpoint; give them in the environment or a profile")
                }
                guard url.path.isEmpty || url.path == "/" else {
                    throw InvalidLocation(text: text, reason: "has endpoint \(value) with a path; the bucket goes after s3://, the prefix after it")
                }
                endpoint = url
            case "region": region = value
            default: profile = value
            }
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropLast(path.hasSuffix("/") ? 1 : 0)
        if !path.isEmpty, segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw InvalidLocation(text: text, reason: "has a prefix with an empty, . or .. segment")
        }
        self.init(bucket: bucket, prefix: path, endpoint: endpoint, region: region, profile: profile)
    }

    /// S3's rules for new buckets: 3 to 63 lowercase letters, digits, `.` and `-`, starting and
    /// ending with a letter or digit.
    static func checkBucketName(_ name: String, in text: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        let edges = Set("abcdefghijklmnopqrstuvwxyz0123456789")
        guard (3...63).contains(name.count), name.allSatisfy(allowed.contains), let first = name.first, let last = name.last,
              edges.contains(first), edges.contains(last) else {
            throw InvalidLocation(text: text, reason: "names bucket \(String(reflecting: name)), which is not a valid bucket name (3 to 63 lowercase letters, digits, . and -)")
        }
    }

    public var description: String {
        var text = "s3://\(bucket)/\(prefix)"
        var parameters: [String] = []
        if let endpoint { parameters.append("endpoint=\(endpoint.absoluteString)") }
        if let region { parameters.append("region=\(region)") }
        if let profile { parameters.append("profile=\(profile)") }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }
}

import Foundation
import GraceStorage

extension S3ObjectStore {
    /// The store an `s3://` location names: its region and endpoint from the location, else the
    /// environment (`AWS_REGION`, `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`),
    /// else us-east-1 at AWS; credentials from `AWSCredentials.resolve`.
    public init(_ location: S3Location, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let region = location.region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let endpointText = environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
        let endpoint = location.endpoint ?? endpointText.flatMap(URL.init(string:)) ?? URL(string: "https://s3.\(region).amazonaws.com")!
        self.init(endpoint: endpoint, bucket: location.bucket, prefix: location.prefix, region: region,
                  credentials: try AWSCredentials.resolve(profile: location.profile, environment: environment))
    }

    /// Opens a location: with `create`, makes the bucket if it is missing (with Object Lock when
    /// asked: a vault's records are then locked by the vault, `Vault.initialize`); without, checks
    /// that the bucket exists, so a typo fails here and not at the first write.
    public static func open(_ location: S3Location, create: Bool, objectLock: Bool = false) async throws -> S3ObjectStore {
        let store = try S3ObjectStore(location)
        if create {
            // An existing bucket is left as it is: re-creating one can change its settings on some
            // services, and Object Lock is chosen when a bucket is made, not after.
            if try await !store.bucketExists() { try await store.createBucket(objectLock: objectLock) }
        } else {
            try await store.checkBucket()
        }
        return store
    }

    /// HEAD of the bucket: whether it exists; refused credentials throw.
    public func bucketExists() async throws -> Bool {
        let answer = try await perform(Call(method: .HEAD, path: bucketPath), .open, key: "", accept: [200, 404])
        return answer.status == .ok
    }

    /// Creates the bucket; one that exists and is ours is fine.
    public func createBucket(objectLock: Bool = false) async throws {
        var headers: [(name: String, value: String)] = []
        if objectLock { headers.append(("x-amz-bucket-object-lock-enabled", "true")) }
        let answer = try await perform(Call(method: .PUT, path: bucketPath, headers: headers), .open, key: "", accept: [200, 409])
        if answer.status == .conflict {
            let code = (try? S3XML.parse(answer.body.readableBytesView, what: "an error"))?.value("Code")
            guard code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" else {
                throw failure(status: answer.status, code: code, .open, key: "")
            }
        }
    }

    /// HEAD of the bucket: missing is `.notFound`, refused credentials `.unavailable`, both named.
    public func checkBucket() async throws {
        let answer = try await perform(Call(method: .HEAD, path: bucketPath), .open, key: "", accept: [200, 404, 403])
        switch answer.status.code {
        case 404: throw StorageFailure(.notFound, .open, location: location, message: "bucket \(bucket) does not exist at \(endpoint.absoluteString)")
        case 403: throw StorageFailure(.unavailable, .open, location: location,
                                       message: "access to bucket \(bucket) at \(endpoint.absoluteString) is refused to access key \(signer.credentials.accessKeyID): check the credentials")
        default: break
        }
    }
}

extension ObjectStoreOpener {
    /// Folders and S3: what the command line opens locations with.
    public static let standard = ObjectStoreOpener(s3: { location, create in try await S3ObjectStore.open(location, create: create) })
}

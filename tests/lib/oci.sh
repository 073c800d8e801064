# SPDX-License-Identifier: LGPL-2.1-or-later
# oci_archive DIR TAR NAME CMD_JSON: $DIR/image.tar, an OCI image layout whose one
# gzip layer is the root filesystem tarball TAR, whose config runs CMD_JSON (a JSON
# array) and whose index names NAME; the same blobs are named by a manifest.json, so
# it is also a docker-archive (docker 20.10 loads only those); digests from sha256sum.
# The test images of tests/engines and tests/cri: no registry involved.
oci_archive() {
	local d=$1/oci tar=$2 name=$3 cmd=$4 layer diffid lsize cdig csize mdig msize
	rm -rf "$d" && mkdir -p "$d/blobs/sha256"
	diffid=$(sha256sum <"$tar" | cut -d' ' -f1)
	gzip -n -c "$tar" >"$d/layer.tar.gz"
	layer=$(sha256sum <"$d/layer.tar.gz" | cut -d' ' -f1)
	lsize=$(stat -c %s "$d/layer.tar.gz")
	mv "$d/layer.tar.gz" "$d/blobs/sha256/$layer"
	printf '%s' '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":'"$cmd"',"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:'"$diffid"'"]},"history":[{"created_by":"berth tests"}]}' >"$d/config.json"
	cdig=$(sha256sum <"$d/config.json" | cut -d' ' -f1)
	csize=$(stat -c %s "$d/config.json")
	mv "$d/config.json" "$d/blobs/sha256/$cdig"
	printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'"$cdig"'","size":'"$csize"'},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$layer"'","size":'"$lsize"'}]}' >"$d/manifest.json"
	mdig=$(sha256sum <"$d/manifest.json" | cut -d' ' -f1)
	msize=$(stat -c %s "$d/manifest.json")
	mv "$d/manifest.json" "$d/blobs/sha256/$mdig"
	printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	printf '%s' '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'"$mdig"'","size":'"$msize"',"annotations":{"io.containerd.image.name":"'"$name"'","org.opencontainers.image.ref.name":"'"${name##*:}"'"}}]}' >"$d/index.json"
	printf '%s' '[{"Config":"blobs/sha256/'"$cdig"'","RepoTags":["'"$name"'"],"Layers":["blobs/sha256/'"$layer"'"]}]' >"$d/manifest.json"
	tar -C "$d" --numeric-owner -cf "$1/image.tar" oci-layout index.json manifest.json blobs
}

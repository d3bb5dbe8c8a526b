# syntax=docker/dockerfile:1
# One image, two entrypoints: the `meganet` CLI (anchor, peer, devnet; the default) and the
# operator (`node /app/operator/dist/main.js`). The build steps are the ones .ci/run runs:
# npm ci, then the build of the shipped packages.

FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY contracts/package.json contracts/
COPY fleet-client/package.json fleet-client/
COPY node-image/package.json node-image/
COPY cdk8s/package.json cdk8s/
COPY operator/package.json operator/
# Fixes to dependencies, applied by npm ci's postinstall (patch-package); patches/README.md says why.
COPY patches patches
RUN npm ci --no-audit --no-fund
COPY contracts contracts
COPY fleet-client fleet-client
COPY node-image node-image
COPY cdk8s cdk8s
COPY operator operator
# The shipped packages only: the bench/ workspace stays out of the image.
RUN npx tsc -b contracts fleet-client node-image cdk8s operator

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY contracts/package.json contracts/
COPY fleet-client/package.json fleet-client/
COPY node-image/package.json node-image/
COPY cdk8s/package.json cdk8s/
COPY operator/package.json operator/
COPY patches patches
# The node@24 devDependency only exists for machines that ship an older Node; the image has Node 24.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/contracts/dist contracts/dist
COPY --from=build /src/fleet-client/dist fleet-client/dist
COPY --from=build /src/node-image/dist node-image/dist
COPY --from=build /src/cdk8s/dist cdk8s/dist
COPY --from=build /src/operator/dist operator/dist
RUN mkdir -p /data && chown node:node /data
USER node
ENV MEGANET_DATA_DIR=/data
VOLUME /data
EXPOSE 4001 4002 9464 8080 9465
ENTRYPOINT ["node", "/app/node-image/dist/cli/main.js"]
CMD ["anchor"]

FROM busybox
COPY data.txt /data.txt
LABEL from=app.dockerfile

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN DEBUG=true python manage.py collectstatic --noinput
# The shared multiprocess metrics volume takes this directory's owner when created.
RUN mkdir -p /run/metrics && chown nobody /run/metrics
USER nobody

# Databricks notebook source
# MAGIC %md
# MAGIC # モデルの管理
# MAGIC
# MAGIC > **注:** このノートブックのコード セルは英語版と同じです。そのため、セルの出力とウィジェットのラベルは英語で表示されます。
# MAGIC
# MAGIC 前のラボでは、MLflow の実行でモデルをトレーニングし、比較しました。このラボでは、トレーニングの後のモデルを MLflow の **モデル レジストリ** とコード (`MlflowClient`) で管理します。実行のモデルを **登録済みモデル** として登録し、**バージョン** を追加して説明を付け、**エイリアス** `champion` と `challenger` をバージョンに割り当て、エイリアスでモデルを読み込んで予測し、最後にモデルを廃止します。
# MAGIC
# MAGIC Databricks では、レジストリは **Unity Catalog** です。モデルは `catalog.schema.model` という 3 レベルの名前を持ちます。Databricks の外では、MLflow 追跡サーバー自身のレジストリです。
# MAGIC
# MAGIC **コースの元のラボをご存じの場合:** モデルの *ステージ* はなくなりました。代わりにエイリアスを使います。`champion` が `Production` の、`challenger` が `Staging` の役割を果たし、`models:/<name>/Production` の代わりに `models:/<name>@champion` を使います。バージョンにエイリアスを付けるには、`transition_model_version_stage` ではなく `set_registered_model_alias` を使います。「アーカイブ済み」のバージョンはなく、エイリアスのないバージョンがあるだけです。ワークスペースのモデル レジストリは Unity Catalog (3 レベルの名前) に、**Enable Serving** は Model Serving のエンドポイントに置き換わりました。
# MAGIC
# MAGIC ### コンピューティングを選ぶ
# MAGIC 前のラボと同じように、このノートブックを **サーバーレス** コンピューティングか、Databricks Runtime for Machine Learning (15.4 LTS ML 以降) を実行しているクラスターにアタッチします。次のセルでは、ラボのセットアップ ノートブックを実行します。

# COMMAND ----------

# DBTITLE 1,ラボのセットアップ ノートブックを実行する
# MAGIC %run ./includes/setup

# COMMAND ----------

# DBTITLE 1,レジストリのセットアップ ノートブックを実行する
# MAGIC %run ./includes/registry_setup

# COMMAND ----------

# DBTITLE 1,ライブラリをインポートする
import time

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

print(f"Loaded libraries: MLflow {mlflow.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
print(f"Compute: {compute_description()}")

# COMMAND ----------

# MAGIC %md
# MAGIC ### パラメーター
# MAGIC 既定値を使うには、パラメーターを空白のままにします。`data_path` と `experiment_name` は前のラボと同じです (実行は実験 `dp090-managing-models` に記録されます)。`model_name` は登録済みモデルです (空白の場合: 下のカタログとスキーマの `dp090_nyc_taxi_<your short user name>`、Databricks の外では `dp090-nyc-taxi`)。`catalog` と `schema` は、空白の `model_name` が Unity Catalog のどこに置かれるかを指定します (空白の場合: セッションの現在のカタログとスキーマ。Free Edition では `workspace.default`)。`keep_model` は、`yes` の場合、サービスに使えるように最後にモデルを残します。それ以外の場合は **クリーンアップ** の手順でモデルを削除します。
# MAGIC
# MAGIC Databricks では、MLflow 3 は既定で Unity Catalog をレジストリとして使いますが、MLflow 2 (ML ランタイム 15.4 と 16.4) は使いません。そのため、このセルはレジストリを指定します。ワークスペースでは `databricks-uc` です。

# COMMAND ----------

# DBTITLE 1,パラメーター: データ、実験、モデル
dbutils.widgets.text("data_path", "", "Trips CSV (blank: the lab's data)")
dbutils.widgets.text("experiment_name", "", "MLflow experiment (blank: default)")
dbutils.widgets.text("model_name", "", "Registered model (blank: default)")
dbutils.widgets.text("catalog", "", "Catalog (blank: current)")
dbutils.widgets.text("schema", "", "Schema (blank: current)")
dbutils.widgets.text("keep_model", "no", "Keep the model at the end (yes/no)")

data_path = dbutils.widgets.get("data_path")
experiment_name = dbutils.widgets.get("experiment_name") or default_registry_experiment_name()
keep_model = dbutils.widgets.get("keep_model").strip().lower() == "yes"

# Unity Catalog ("databricks-uc") in a workspace, else the tracking server's own registry (see registry_setup)
mlflow.set_registry_uri(lab_registry_uri())
model_name = dbutils.widgets.get("model_name") or default_model_name(dbutils.widgets.get("catalog"),
                                                                     dbutils.widgets.get("schema"))

experiment = mlflow.set_experiment(experiment_name)
client = MlflowClient()
print(f"MLflow experiment: {experiment.name} (id {experiment.experiment_id})")
print(f"Model registry: {registry_description()}")
print(f"Registered model: {model_name}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## データとトレーニング関数を準備する
# MAGIC 次のセルは、前のラボとまったく同じように乗車データを読み込み、特徴量化します (70% をトレーニングに、30% をテストに使い、シードも同じです)。その次のセルは、前のラボのトレーニング関数からプロットを除いた `train_nyc_taxi` を定義します。この関数は、ハイパーパラメーター、メトリック、およびモデルを、その **シグネチャ** (モデルが受け取る入力列と返す出力) と共にログに記録します。Unity Catalog は、シグネチャのあるモデルしか登録しません。

# COMMAND ----------

# DBTITLE 1,データを読み込み、特徴量化し、分割する
trips, trips_source = load_trips(data_path)
print(f"Loaded {len(trips):,} trips from {trips_source}")

features = trips.dropna(subset=["totalAmount"]).copy()
features["hour_sine"] = np.sin(features["hour_of_day"] * (2.0 * np.pi / 24))
features["hour_cosine"] = np.cos(features["hour_of_day"] * (2.0 * np.pi / 24))
features = features.drop(columns=["hour_of_day"])
features["isPaidTimeOff"] = features["isPaidTimeOff"].astype(int)
features["normalizeHolidayName"] = features["normalizeHolidayName"].fillna("None")

numerical_cols = ["passengerCount", "tripDistance", "snowDepth", "precipTime", "precipDepth", "temperature",
                  "hour_sine", "hour_cosine"]
categorical_cols = ["day_of_week", "month_num", "normalizeHolidayName", "isPaidTimeOff"]
label_column = "totalAmount"
feature_columns = numerical_cols + categorical_cols
number_cols = [column for column in feature_columns if column != "normalizeHolidayName"]
features[number_cols] = features[number_cols].astype(float)

featurizer = ColumnTransformer([
    ("numerical", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", MinMaxScaler())]),
     numerical_cols),
    ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical_cols),
])

train_df, test_df = train_test_split(features, test_size=0.3, random_state=97)
print(f"Created datasets: {len(train_df):,} training rows, {len(test_df):,} test rows")

# COMMAND ----------

# DBTITLE 1,トレーニング関数
# The model's name in the run, "model", as this MLflow release takes it (see the setup notebook).
model_options = sklearn_model_options()


def train_nyc_taxi(train_df, test_df, label_column, elastic_net_param, reg_param, max_iter, model_name=None):
    check_hyperparameters(elastic_net_param, reg_param, max_iter)
    if reg_param == 0:
        regression = LinearRegression()
    else:
        regression = ElasticNet(l1_ratio=elastic_net_param, alpha=reg_param, max_iter=max_iter)
    model = Pipeline([("featurize", sklearn.clone(featurizer)), ("standardize", StandardScaler()),
                      ("regression", regression)])

    with mlflow.start_run() as run:
        model.fit(train_df[feature_columns], train_df[label_column])
        predictions = model.predict(test_df[feature_columns])
        rmse = float(np.sqrt(mean_squared_error(test_df[label_column], predictions)))
        mae = float(mean_absolute_error(test_df[label_column], predictions))
        r2 = float(r2_score(test_df[label_column], predictions))
        print(f"Linear regression model (elastic_net_param={elastic_net_param}, reg_param={reg_param}, "
              f"max_iter={max_iter}): RMSE {rmse:.4f}, MAE {mae:.4f}, R2 {r2:.4f}")

        mlflow.log_params({"elastic_net_param": elastic_net_param, "reg_param": reg_param, "max_iter": max_iter})
        mlflow.log_metrics({"rmse": rmse, "mae": mae, "r2": r2})

        # Log the model with its signature; with a model_name, also register it as a new version of that model
        signature = infer_signature(test_df[feature_columns], predictions)
        mlflow.sklearn.log_model(model, signature=signature, registered_model_name=model_name, **model_options)

    return run.info.run_id

# COMMAND ----------

# MAGIC %md
# MAGIC ## モデルをトレーニングする
# MAGIC 前のラボで最も良かったハイパーパラメーター (ペナルティなし、最小二乗法。その実行 1) で、ラボのデータを使ってモデルをトレーニングします。`max_iter` は最小二乗法には適用されません。

# COMMAND ----------

# DBTITLE 1,前のラボで最も良かったハイパーパラメーターでトレーニングする
first_run_id = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.0, 1)

# COMMAND ----------

# MAGIC %md
# MAGIC ## モデルを登録する
# MAGIC 実験の最新の実行、つまりトレーニングしたばかりの実行を見つけます。`runs:/<run_id>/model` は、その実行がログに記録したモデルを指します。

# COMMAND ----------

# DBTITLE 1,最新の実行のモデル
latest_run = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
run_id = latest_run.info.run_id
model_uri = f"runs:/{run_id}/model"
print(f"Latest run: {latest_run.info.run_name} (run id {run_id}); its model: {model_uri}")

# COMMAND ----------

# MAGIC %md
# MAGIC `mlflow.register_model` は、登録済みモデルがまだなければ作成し、実行のモデルを新しい **バージョン** (1、2、3、...) として追加します。登録は呼び出しが戻った後に完了することがあるため (Unity Catalog はモデルのファイルをコピーします)、`wait_until_ready` はバージョンの状態が `READY` になるまで問い合わせます。前のセッションのモデルが残っている場合 (`keep_model` = `yes`)、そのモデルの次のバージョンになります。(MLflow 3 では、実行のモデルは実行にリンクされた *ログ記録済みモデル* `models:/m-...` であり、MLflow はそれを登録したと表示します。)

# COMMAND ----------

# DBTITLE 1,モデルを登録し、準備ができるまで待つ
def wait_until_ready(model_name, version):
    for _ in range(60):
        status = client.get_model_version(name=model_name, version=version).status
        print(f"Model {model_name} version {version}: {status}")
        if status == "READY":
            return
        if status == "FAILED_REGISTRATION":
            raise RuntimeError(f"Model {model_name} version {version} failed to register")
        time.sleep(2)
    raise TimeoutError(f"Model {model_name} version {version} was not ready after 2 minutes")


model_details = mlflow.register_model(model_uri=model_uri, name=model_name)
first_version = model_details.version
wait_until_ready(model_name, first_version)

# COMMAND ----------

# MAGIC %md
# MAGIC ### モデルとバージョンに説明を付ける
# MAGIC 登録済みモデルには説明があります。各バージョンにも説明があり、バージョンには **タグ** (任意のキーと値) を付けることができます。モデルが何を予測するか、このバージョンが何かを説明します。

# COMMAND ----------

# DBTITLE 1,説明とタグ
client.update_registered_model(
    name=model_name,
    description="This model forecasts the amount a taxi cab ride might cost in New York City.",
)
client.update_model_version(
    name=model_name,
    version=first_version,
    description="Least squares linear regression (scikit-learn), the previous lab's best run.",
)
client.set_model_version_tag(model_name, first_version, "algorithm", "least squares")

version_details = client.get_model_version(model_name, first_version)
print(f"Model {model_name}: {client.get_registered_model(model_name).description}")
print(f"Version {first_version}: {version_details.description} Tags: {version_details.tags}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## 使うバージョンに名前を付ける: エイリアス `champion`
# MAGIC アプリケーションはどのバージョンを使うべきでしょうか。**エイリアス** で名前を付けます。`champion` は使用中のバージョンです。エイリアスは、一度にモデルのちょうど 1 つのバージョンを指します。このセルは、各エイリアスが指すバージョンを前後に出力します。新しいモデルでは何もありません。前のセッションのモデルを残していた場合は、そのエイリアスが出力され、`champion` を設定すると、それまで指していたバージョンからこのセッションのバージョンに移ります。

# COMMAND ----------

# DBTITLE 1,エイリアス champion を設定する
def print_aliases(model_name, when):
    aliases = client.get_registered_model(model_name).aliases  # {alias: version}
    named = ", ".join(f"@{alias} -> version {version}" for alias, version in sorted(aliases.items()))
    print(f"{when}: {named or 'no aliases'}")


print_aliases(model_name, "Before")
client.set_registered_model_alias(name=model_name, alias="champion", version=first_version)
print_aliases(model_name, "After")

# COMMAND ----------

# MAGIC %md
# MAGIC ## champion で予測する
# MAGIC `models:/<name>@<alias>` は、モデルを読み込む時点でエイリアスが指しているバージョンを指します。次の関数は、任意の MLflow モデルを同じ方法で読み込む `mlflow.pyfunc.load_model` でモデルをエイリアスで読み込み、予測します。champion で最初のテスト セットの乗車の料金を予測します。

# COMMAND ----------

# DBTITLE 1,models:/<name>@champion で 1 件の乗車を予測する
def forecast_nyc_taxi_amount(model_name, alias, df):
    model_uri = f"models:/{model_name}@{alias}"
    version = client.get_model_version_by_alias(model_name, alias).version
    print(f"Loading {model_uri} (version {version})")
    model = mlflow.pyfunc.load_model(model_uri)
    return float(np.asarray(model.predict(df)).ravel()[0])


one_trip = test_df[feature_columns].head(1)
champion_fare = forecast_nyc_taxi_amount(model_name, "champion", one_trip)
print(f"Champion's fare for the first test trip: ${champion_fare:.2f} "
      f"(actual: ${test_df[label_column].iloc[0]:.2f})")

# COMMAND ----------

# MAGIC %md
# MAGIC ## 新しいバージョン: challenger
# MAGIC 別のハイパーパラメーター、つまり強さ 0.3 の L2 ペナルティ (`elastic_net_param = 0`)、最大 500 回の反復でもう一度トレーニングします。今回は `train_nyc_taxi` にモデルの名前を渡すので、`log_model` 自身がモデルを次のバージョンとして登録します (`registered_model_name`)。その後、セルは最新のバージョンを見つけて待ちます。scikit-learn のリリースによっては、ソルバーが 500 回の反復で収束しなかったという警告 (`ConvergenceWarning`) がここで出ますが、モデルは同じようにトレーニングされ、ログに記録され、登録されます。

# COMMAND ----------

# DBTITLE 1,新しいバージョンをトレーニングして登録する
second_run_id = train_nyc_taxi(train_df, test_df, label_column, 0.0, 0.3, 500, model_name=model_name)

model_versions = client.search_model_versions(f"name = '{model_name}'")
second_version = str(max(int(model_version.version) for model_version in model_versions))
wait_until_ready(model_name, second_version)

# COMMAND ----------

# DBTITLE 1,新しいバージョンに説明を付ける
client.update_model_version(
    name=model_name,
    version=second_version,
    description="L2 penalty 0.3 (elastic_net_param 0) and at most 500 iterations, instead of least squares.",
)
client.set_model_version_tag(model_name, second_version, "algorithm", "elastic net, L2 only")
print(f"Version {second_version}: {client.get_model_version(model_name, second_version).description}")

# COMMAND ----------

# MAGIC %md
# MAGIC 新しいバージョンが champion に置き換わる前に、エイリアス `challenger` (以前の `Staging`) を付けてテストします。`@challenger` で同じ乗車を予測し、2 つのバージョンのメトリックをそれぞれの実行から比較します。

# COMMAND ----------

# DBTITLE 1,エイリアス challenger を設定し、それで予測する
client.set_registered_model_alias(name=model_name, alias="challenger", version=second_version)
print_aliases(model_name, "Aliases")

challenger_fare = forecast_nyc_taxi_amount(model_name, "challenger", one_trip)
print(f"Challenger's fare for the first test trip: ${challenger_fare:.2f} (champion: ${champion_fare:.2f})")
for alias in ["champion", "challenger"]:
    version = client.get_model_version_by_alias(model_name, alias)
    rmse = client.get_run(version.run_id).data.metrics["rmse"]
    print(f"@{alias}: version {version.version}, RMSE {rmse:.4f} on the test data")

# COMMAND ----------

# MAGIC %md
# MAGIC ## challenger を昇格する
# MAGIC RMSE が低いほうが良いモデルです。それでも challenger に決めたとします (このラボでは、方法を示すために数値にかかわらず昇格します)。新しいバージョンにエイリアス `champion` を設定します。エイリアスは移動します。古いバージョンを指さなくなるので、2 つのバージョンが同時に「champion」になることはありません (ステージでは、2 つのバージョンが両方とも `Production` になることがありました)。

# COMMAND ----------

# DBTITLE 1,champion を新しいバージョンに移す
print_aliases(model_name, "Before")
client.set_registered_model_alias(name=model_name, alias="champion", version=second_version)
print_aliases(model_name, "After")

# COMMAND ----------

# MAGIC %md
# MAGIC `models:/<name>@champion` は今どのバージョンを読み込むでしょうか。同じ乗車をもう一度予測します。エイリアスが新しいバージョンを指しているので、料金は challenger のものになります。`@champion` を読み込むコードは、変更なしでバージョンが切り替わりました。

# COMMAND ----------

# DBTITLE 1,今はどちらが選ばれるか
new_champion_fare = forecast_nyc_taxi_amount(model_name, "champion", one_trip)
winner = "the new version" if new_champion_fare == challenger_fare else "not the new version"
print(f"@champion predicts ${new_champion_fare:.2f}: {winner} (version {second_version}) "
      f"(old champion, version {first_version}: ${champion_fare:.2f})")

# COMMAND ----------

# MAGIC %md
# MAGIC ## 古いバージョンを廃止する
# MAGIC challenger が champion になったので、エイリアス `challenger` を削除します。古いバージョンにはもうエイリアスがありません。エイリアスでそれを読み込むものはなく、削除できます (`delete_model_version`)。

# COMMAND ----------

# DBTITLE 1,エイリアス challenger と古いバージョンを削除する
client.delete_registered_model_alias(name=model_name, alias="challenger")
client.delete_model_version(name=model_name, version=first_version)
print(f"Deleted version {first_version}")
print_aliases(model_name, "Aliases")
versions_left = sorted(int(left.version) for left in client.search_model_versions(f"name = '{model_name}'"))
print(f"Versions left: {versions_left}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## Databricks でモデルをサービスする
# MAGIC ワークスペースでは、登録済みモデルを **Model Serving のサービス エンドポイント** でサービスします (サイドバーの **[サービング]**、**[サービング エンドポイントを作成]**)。Unity Catalog のモデルとそのバージョン (現在は `@champion` が指すバージョン) を選ぶと、エンドポイントは HTTP 要求に予測で応答します。エンドポイントは削除するまで残ります (**[サービング]** ページ)。Databricks Free Edition では、ほかのリソースと同じようにモデル サービスにも制限があります (「Free Edition limitations」のページを参照)。モデルをサービスするには、このノートブックを `keep_model` = `yes` で実行します。Databricks の外では、`mlflow models serve` について **さらに詳しく** を参照してください。

# COMMAND ----------

# MAGIC %md
# MAGIC ## クリーンアップ
# MAGIC モデル全体を廃止するには、エイリアス、バージョン、登録済みモデルの順に削除します。`keep_model` が `yes` でない限り、次のセルがそれを行います。実行は実験に残ります。コースを終えたら、**[実験]** ページから実験を削除してください。

# COMMAND ----------

# DBTITLE 1,登録済みモデルを削除する
if keep_model:
    print(f"Kept {model_name}: {client.get_registered_model(model_name).aliases}")
else:
    for alias in client.get_registered_model(model_name).aliases:
        client.delete_registered_model_alias(name=model_name, alias=alias)
    for model_version in client.search_model_versions(f"name = '{model_name}'"):
        client.delete_model_version(name=model_name, version=model_version.version)
    client.delete_registered_model(name=model_name)
    print(f"Deleted the registered model {model_name}")

# COMMAND ----------

# MAGIC %md
# MAGIC ## さらに詳しく
# MAGIC
# MAGIC Databricks の外でラボを実行していますか。ラボ ガイド `docs/lab-guide.ja.md` にその方法が記載されています。
# MAGIC
# MAGIC ### 自分のマシンで champion をサービスする
# MAGIC Databricks の外では、MLflow 自身が登録済みモデルをサービスします。このノートブックを `keep_model` = `yes` で実行してから、`MLFLOW_TRACKING_URI` が追跡サーバーを指しているターミナルで次を実行します。
# MAGIC
# MAGIC ```sh
# MAGIC mlflow models serve -m "models:/dp090-nyc-taxi@champion" --env-manager local -p 5001
# MAGIC ```
# MAGIC
# MAGIC `--env-manager local` は、環境を構築せずに、手元にある Python パッケージでサービスします。サーバーは `POST /invocations` に予測で応答します。次のセルは、最初のテスト セットの乗車の要求を `curl` が送る形で出力します。

# COMMAND ----------

# DBTITLE 1,モデル サーバーへの要求
import json

request = {"dataframe_split": json.loads(one_trip.to_json(orient="split", index=False))}
print(f"curl -s http://127.0.0.1:5001/invocations -H 'Content-Type: application/json' -d '{json.dumps(request)}'")

# COMMAND ----------

# MAGIC %md
# MAGIC 最後の 2 つのセルはジョブ用です。このノートブックを実行するジョブに、このセッションの 2 つの実行を返します。

# COMMAND ----------

# MAGIC %run ./includes/job_summary

# COMMAND ----------

# DBTITLE 1,ジョブに概要を返す
# When a job runs this notebook, this summary is the task's output: the library versions and the two runs.
dbutils.notebook.exit(lab_summary([first_run_id, second_run_id]))
